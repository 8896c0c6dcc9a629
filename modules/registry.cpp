// The name -> prober table; filled in as probers land.
namespace sonde::modules {}
