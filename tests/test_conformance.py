"""The reference host's semantics (docs/abi.md), one test per fact, driven from inside plugins.

The plugins are built here with the machine's gcc / g++ against sdk_headers/ only:

- tests/conformance/conformance_cpp.cpp: a C++ plugin that reaches DCUtils and DCConfig
  through its own SDK-style wrapper (sdk_style.h: ``res.resize(hint); res.resize(
  utils->to_utf8(&res[0], src, hint))``), and checks interfaces and hooks;
- tests/conformance/conformance_c.c: the same facts from plain C, every DCUtils function
  with n smaller than, equal to and larger than the result, and the handle misuses pyhost
  survives (each run in a child process: a regression would crash the host);
- tests/conformance/conformance_py.py: a Python plugin, through its core and its settings;
- lazy_symbol.c, global_host.c + global_module.c: the two dlopen facts;
- api_version.c, built declaring API 0, 8 and 9: only 8 loads.

The test fires the hook "pyhost.test.conformance" with a char[1024] naming a fact; the plugin
that knows it runs the check and writes back "ok" or what failed. The exhaustive DCUtils
checks under AddressSanitizer are tests/test_utils_native.py, the DCConfig matrix is
tests/test_config.py, the pe-x86 export is tests/test_binary.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.hook_types import declare_hook
from pyhost.abi.interfaces import Interface, function
from pyhost.host.events import Category, PluginFailed
from pyhost.host.host import Host
from pyhost.host.loader import PluginError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tests" / "conformance"
DRIVER = "pyhost.test.conformance"
C_GUID = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c2}"
CPP_GUID = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c1}"
GLOBAL_GUID = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c4}"
DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
CHAT_GUARD = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}"

WARNINGS = ["-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden"]
BUILDS = {  # output name -> (compiler command, sources)
    "conformance_c.so": (["gcc", "-std=c11", *WARNINGS], ["conformance_c.c"]),
    "conformance_cpp.so": (["g++", "-std=c++17", *WARNINGS], ["conformance_cpp.cpp"]),
    # lazy binding explicitly, whatever the toolchain's default (-z now would defeat it)
    "lazy_symbol.so": (["gcc", "-std=c11", *WARNINGS, "-Wl,-z,lazy"], ["lazy_symbol.c"]),
    "global_host.so": (["gcc", "-std=c11", *WARNINGS], ["global_host.c", "-ldl"]),
    "global_module.so": (["gcc", "-std=c11", *WARNINGS], ["global_module.c"]),
    # the same valid plugin declaring API 9, 0 and (as a control) 8
    **{f"api_{v}.so": (["gcc", "-std=c11", *WARNINGS, f"-DPLUGIN_API_VERSION={v}"],
                       ["api_version.c"]) for v in (0, 8, 9)},
}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    for tool in ("gcc", "g++"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    out = tmp_path_factory.mktemp("conformance")
    result = {}
    for name, (cmd, sources) in BUILDS.items():
        target = out / name
        args = [str(SOURCES / s) if s.endswith((".c", ".cpp")) else s for s in sources]
        run = subprocess.run([*cmd, "-I", str(ROOT / "sdk_headers"), "-o", str(target), *args],
                             capture_output=True, text=True)
        assert run.returncode == 0, f"building {name} failed:\n{run.stderr}"
        result[name] = target
    return result


class Driven:
    """A host with the driver hook and the three conformance plugins installed."""

    def __init__(self, host: Host, built: dict[str, Path]):
        self.host = host
        self.hook = host.bus.create_hook(DRIVER)
        host.install(built["conformance_c.so"])
        host.install(built["conformance_cpp.so"])
        host.install(SOURCES / "conformance_py.py", kind="python")

    def ask(self, name: str) -> str:
        buffer = ffi.new("char[1024]", name.encode())
        handled = self.hook.run(None, buffer)
        answer = ffi.string(buffer).decode()
        assert handled, f"no plugin knows the fact {name!r}"
        return answer


@pytest.fixture
def driven(home, built):
    with Host(home, timers=False) as host:
        yield Driven(host, built)


# ---- DCUtils ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fact", [
    "cpp.utils.no_trailing_nul",        # the SDK's resize pattern leaves no NUL inside
    "cpp.utils.copy_min_of_len_and_n",  # min(len, n) elements, no NUL, the count returned
    "c.utils.every_n",                  # every conversion, n smaller / equal / larger
    "py.utils",
])
def test_text_conversions_copy_min_of_len_and_n_without_a_nul(driven, fact):
    assert driven.ask(fact) == "ok"


@pytest.mark.parametrize("fact", ["cpp.utils.from_base32", "c.utils.base32"])
def test_from_base32_fills_exactly_n_bytes_skipping_other_characters(driven, fact):
    assert driven.ask(fact) == "ok"


def test_to_base32_returns_the_length_and_writes_nothing(driven):
    assert driven.ask("cpp.utils.to_base32") == "ok"


# ---- DCConfig --------------------------------------------------------------------------------

def test_set_cfg_stores_text(driven):
    assert driven.ask("cpp.config.stores_text") == "ok"
    # the registry keeps the written type: the `pyhost config` view of the same values
    assert driven.host.registry.get_setting(CPP_GUID, "i") == ("int", -42)
    assert driven.host.registry.get_setting(CPP_GUID, "t") == ("bool", True)
    assert driven.host.registry.get_setting(CPP_GUID, "n") == ("string", "")


@pytest.mark.parametrize("fact", ["cpp.config.conversions", "cpp.config.odd_texts",
                                  "c.config.raw", "py.config"])
def test_get_cfg_converts_the_stored_text(driven, fact):
    assert driven.ask(fact) == "ok"


def test_set_cfg_for_a_guid_that_is_not_installed_is_ignored(driven):
    assert driven.ask("cpp.config.not_installed_ignored") == "ok"
    assert driven.host.registry.settings("{not-an-installed-plugin}") == {}


def test_core_setup_answers_in_its_own_type_or_null(driven):
    assert driven.ask("cpp.config.core_setup") == "ok"


def test_every_value_is_a_fresh_copy_the_caller_releases(driven):
    before = lib.phn_cfg_live()
    assert driven.ask("cpp.config.fresh_copies") == "ok"
    assert lib.phn_cfg_live() == before


def test_paths_are_absolute_and_end_with_the_separator(driven, caplog):
    before = lib.phn_cfg_live()
    assert driven.ask("cpp.config.paths") == "ok"
    # each path was a fresh value that its release took back (none refused, none leaked)
    assert lib.phn_cfg_live() == before
    assert not [r for r in caplog.records if "ignored" in r.getMessage()]


def test_python_settings_keep_their_types_on_top(driven):
    assert driven.ask("py.settings") == "ok"


# ---- interfaces and hooks -------------------------------------------------------------------

def test_interfaces_first_registration_wins_and_same_or_newer_is_returned(driven):
    assert driven.ask("cpp.interfaces") == "ok"


def test_standard_interfaces_answer_same_or_older_versions_only(driven):
    assert driven.ask("cpp.interfaces.standard") == "ok"


def test_run_hook_order_break_result_and_default(driven):
    assert driven.ask("cpp.hooks.run") == "ok"


def test_destroy_hook_with_subscribers_kills_their_handles(driven):
    assert driven.ask("cpp.hooks.destroy") == "ok"


# ---- the same facts, the plugin isolated in a runner process of its own ----------------------

ACROSS = "pyhost.test.conformance.display"
CPP_FACTS = [
    "cpp.utils.no_trailing_nul", "cpp.utils.copy_min_of_len_and_n", "cpp.utils.from_base32",
    "cpp.utils.to_base32", "cpp.config.stores_text", "cpp.config.conversions",
    "cpp.config.odd_texts", "cpp.config.not_installed_ignored", "cpp.config.core_setup",
    "cpp.config.fresh_copies", "cpp.config.paths", "cpp.interfaces",
    "cpp.interfaces.standard", "cpp.hooks.run", "cpp.hooks.destroy",
]
C_FACTS = [
    "c.utils.every_n", "c.utils.base32", "c.config.raw", "c.misuse.config_double_release",
    "c.misuse.config_stack_release", "c.misuse.subscription_double_release",
    "c.misuse.destroy_hook_garbage", "c.misuse.release_hook_garbage",
    "c.misuse.release_interface_garbage",
]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory, built):
    """One host with the C++ and C conformance plugins running isolated; the driver hook's
    data is a StringData (declared, so it crosses): in = the fact, out = the answer."""
    declare_hook(ACROSS, data="display")
    with Host(tmp_path_factory.mktemp("isolated-home"), timers=False) as host:
        host.bus.create_hook(DRIVER)   # the plugin binds both drivers
        hook = host.bus.create_hook(ACROSS)
        for name in ("conformance_cpp.so", "conformance_c.so"):
            record = host.install(built[name], isolated=True)
            assert host.plugin(record.guid).isolated and host.is_loaded(record.guid)
        yield host, hook


def ask_across(hook, fact: str) -> str:
    """The answer of the isolated plugin that knows the fact ("ok" or what failed)."""
    text = ffi.new("char[]", fact.encode())
    data = ffi.new("StringData*")
    setattr(data, "in", text)
    assert hook.run(None, data), f"the isolated plugins did not answer {fact!r}"
    assert data.out != ffi.NULL
    return ffi.string(data.out).decode()


@pytest.mark.parametrize("fact", CPP_FACTS + C_FACTS)
def test_an_isolated_plugin_sees_the_same_facts(isolated, fact):
    host, hook = isolated
    assert ask_across(hook, fact) == "ok"
    assert not host.events.poll(Category.ERROR)   # no crash, no refusal


def test_an_interface_registered_first_holds_its_guid_across_processes(isolated):
    """The isolated plugin registers a table nobody describes (so it cannot be forwarded):
    its guid is still taken, by the first registration, for everyone."""
    host, hook = isolated
    assert ask_across(hook, "cpp.interfaces.hold") == "ok"
    table = ffi.new("DCLog*", {"apiVersion": 1})
    assert host.bus.register_interface("test.conformance.Held", table) is None
    assert host.bus.query_interface("test.conformance.Held", 1) is None  # not forwardable
    assert ask_across(hook, "cpp.interfaces.unhold") == "ok"
    handle = host.bus.register_interface("test.conformance.Held", table)
    assert handle is not None                                   # free again
    assert host.bus.release_interface(handle) is True


def test_a_held_interface_is_forwarded_once_it_is_described(isolated):
    """The waiting registration becomes the forwarded table under the same handle: what a
    plugin's query falls back on (Isolation.resolve) finds it, and the plugin's release of
    its handle removes it."""
    host, hook = isolated
    assert ask_across(hook, "cpp.interfaces.hold") == "ok"

    class Held(Interface, guid="test.conformance.Held", version=1):
        @function("int(void)")
        def answer(self): ...

    table = host.isolation.resolve(b"test.conformance.Held", 1)
    assert table != ffi.NULL
    assert host.isolation.resolve(b"test.conformance.Held", 2) == ffi.NULL  # newer: NULL
    assert host.bus.query_interface("test.conformance.Held", 1) == table
    answer = ffi.cast("int(*)(void)", ffi.cast("void**", table)[1])  # {apiVersion, answer}
    assert table.apiVersion == 1 and answer() == 42          # answered in the runner
    assert host.bus.register_interface("test.conformance.Held", table) is None
    assert ask_across(hook, "cpp.interfaces.unhold") == "ok"
    assert host.bus.query_interface("test.conformance.Held", 1) is None


# ---- checked releases: misuses that kill the reference host ---------------------------------

CHILD = r"""
import json, logging, sys
from pyhost.abi._ffi import ffi
from pyhost.host.host import Host

lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())
logging.getLogger("pyhost").addHandler(Keep())
logging.getLogger("pyhost").setLevel(logging.WARNING)
home, plugin, fact = sys.argv[1:4]
with Host(home, timers=False) as host:
    hook = host.bus.create_hook("pyhost.test.conformance")
    host.install(plugin)
    buffer = ffi.new("char[1024]", fact.encode())
    hook.run(None, buffer)
    answer = ffi.string(buffer).decode()
print(json.dumps({"answer": answer, "log": lines}))
"""


@pytest.mark.parametrize("fact, call, times", [
    ("c.misuse.config_double_release", "DCConfig.release", 1),
    ("c.misuse.config_stack_release", "DCConfig.release", 1),
    ("c.misuse.subscription_double_release", "release_hook", 2),
    ("c.misuse.destroy_hook_garbage", "destroy_hook", 3),
    ("c.misuse.release_hook_garbage", "release_hook", 2),
    ("c.misuse.release_interface_garbage", "release_interface", 4),
])
def test_a_bad_release_is_refused_logged_once_and_the_host_goes_on(tmp_path, built, fact,
                                                                   call, times):
    run = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "home"),
                          str(built["conformance_c.so"]), fact],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, f"the host died ({run.returncode}):\n{run.stderr[-2000:]}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["answer"] == "ok"
    refusals = [line for line in result["log"] if f"{call}(" in line]
    assert len(refusals) == times, result["log"]
    assert all(line.startswith("C conformance: ") and "ignored" in line and "\n" not in line
               for line in refusals)


# ---- loading ----------------------------------------------------------------------------------

IN_OR_ISOLATED = pytest.mark.parametrize("isolated", [False, True],
                                         ids=["in-process", "isolated"])


@IN_OR_ISOLATED
def test_an_undefined_function_on_a_path_never_run_does_not_stop_the_load(host, built,
                                                                          isolated):
    path = built["lazy_symbol.so"]
    # what binding everything at dlopen (RTLD_NOW) does with it: refused
    handle = lib.dlopen(os.fsencode(path), lib.RTLD_NOW | lib.RTLD_LOCAL)
    assert handle == ffi.NULL
    assert "pyhost_test_defined_nowhere" in ffi.string(lib.dlerror()).decode()
    record = host.install(path, isolated=isolated)
    assert host.is_loaded(record.guid) and host.plugin(record.guid).isolated == isolated
    host.disable(record.guid)
    host.enable(record.guid)
    assert host.is_loaded(record.guid)


CONTROL = r"""
import os, sys
from pyhost.abi._ffi import ffi, lib
plugin, module = sys.argv[1:3]
assert lib.dlopen(os.fsencode(plugin), lib.RTLD_LAZY | lib.RTLD_LOCAL) != ffi.NULL
handle = lib.dlopen(os.fsencode(module), lib.RTLD_NOW | lib.RTLD_LOCAL)
print("opened" if handle != ffi.NULL else ffi.string(lib.dlerror()).decode())
"""


@IN_OR_ISOLATED
def test_libraries_a_plugin_opens_later_see_its_exported_symbols(host, built, tmp_path,
                                                                 isolated):
    plugin, module = built["global_host.so"], built["global_module.so"]
    # what a plugin opened RTLD_LOCAL gets (in a fresh process): the module cannot link
    # (cwd outside the checkout: the child must import the installed pyhost, not the sources)
    control = subprocess.run([sys.executable, "-c", CONTROL, str(plugin), str(module)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "undefined symbol: pyhost_test_plugin_symbol" in control.stdout, control
    assert host.install(plugin, isolated=isolated).isolated == isolated
    assert host.registry.get_setting(GLOBAL_GUID, "module_error") is None
    assert host.registry.get_setting(GLOBAL_GUID, "module_says") == \
        ("string", "hello from the plugin")


def test_api_version_must_be_8_and_older_plugins_are_told_to_rebuild(host, sample):
    with pytest.raises(PluginError, match=r"API version 7; this host speaks version 8, and "
                       r"must be rebuilt against the API 8 SDK \(state numbers and several "
                       r"tables changed\)\.$"):
        host.install(sample("wrong_api"))


API_GUID = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c5}"


@IN_OR_ISOLATED
@pytest.mark.parametrize("version", [0, 9])
def test_api_version_must_equal_8_not_merely_be_at_least_8(host, built, version, isolated):
    # the control: the same plugin declaring 8 loads and its main runs
    record = host.install(built["api_8.so"], isolated=isolated)
    assert host.is_loaded(record.guid)
    assert host.registry.get_setting(API_GUID, "main_ran") == ("bool", True)
    host.remove(API_GUID)
    with pytest.raises(PluginError, match=rf"^api_{version}\.so was built for plugin API "
                       rf"version {version}; this host speaks version 8"):
        host.install(built[f"api_{version}.so"], isolated=isolated)
    assert host.plugins() == []
    assert host.registry.get_setting(API_GUID, "main_ran") is None   # main never ran


def test_every_dependency_must_already_be_loaded(host, sample):
    with pytest.raises(PluginError, match="which is not loaded"):
        host.install(sample("dep_child"))
    assert host.plugins() == []


def test_a_library_replaced_by_another_plugin_is_refused(home, sample, tmp_path):
    path = tmp_path / "plugins" / "dev_plugin.so"
    path.parent.mkdir()
    shutil.copy(sample("dev_plugin"), path)
    with Host(home, timers=False) as h:
        h.install(path)
        h.disable(DEV)
    replacement = tmp_path / "plugins" / "incoming.so"
    shutil.copy(sample("chat_guard"), replacement)
    os.replace(replacement, path)                      # a new file under the same name
    with Host(home, timers=False) as h:
        with pytest.raises(PluginError) as caught:
            h.enable(DEV)
        message = str(caught.value)
        assert message == (f"{path} reports the guid {CHAT_GUARD}, but it is installed as "
                           f"Dev plugin ({DEV}); the file was replaced, so reinstall it.")
        assert h.loaded() == [] and not h.registry.settings(CHAT_GUARD)
        h.registry.set_enabled(DEV, True)              # enabled at the next start
    with Host(home, timers=False) as h:
        assert h.loaded() == []
        failed = [e for e in h.events.poll(Category.ERROR) if isinstance(e, PluginFailed)]
        assert any(e.reason == message for e in failed), failed
        assert not h.registry.settings(CHAT_GUARD)
