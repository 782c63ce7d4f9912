#include "gosum/libgosum.h"
