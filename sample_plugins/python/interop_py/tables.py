"""The two interface tables of the interop samples, described once (see ../../interop.h).

``CMath`` is registered by the C plugin interop_c_owner: here it is only a description, used
to call the C functions. ``Calculator`` is registered by this Python plugin: the class is both
the description and the implementation that C plugins call.
"""
from pyhost.abi.interfaces import Interface, function


class CMath(Interface, guid="sample.interop.CMath", version=1):
    """typedef struct { uint32_t apiVersion; int (*mul)(int, int); const char* (*name)(void); }"""

    @function("int(int a, int b)")
    def mul(self, a, b): ...

    @function("const char*(void)")
    def name(self): ...


class Calculator(Interface, guid="sample.python.Calculator", version=1):
    """typedef struct { uint32_t apiVersion; int (*add)(int, int); const char* (*describe)(int); }"""

    def __init__(self):
        self.calls = 0

    @function("int(int a, int b)")
    def add(self, a, b):
        self.calls += 1
        return a + b

    @function("const char*(int n)")
    def describe(self, n):
        self.calls += 1
        return f"{n} is {'even' if n % 2 == 0 else 'odd'}"
