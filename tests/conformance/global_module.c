/* The module global_host.c opens: it calls a function of the plugin that opened it. */
extern const char* pyhost_test_plugin_symbol(void);

__attribute__((visibility("default"))) const char* module_entry(void)
{
    return pyhost_test_plugin_symbol();
}
