#pragma once

// Result<T> is defined at the bottom of the graph (config/result.hpp); code in prober/ includes
// it under this name so that the day it becomes std::expected only these two files change.
#include "config/result.hpp"
