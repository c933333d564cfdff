#include "config.h"
int conf_dummy;
