// Static target lists (the config's `targets:` section) land here with the scheduler.
namespace sonde::discovery {}
