#ifndef TALLY_H
#define TALLY_H

#include <stdint.h>

#define TALLY_ABI_VERSION 1

uint32_t tally_abi_version(void);
char *tally_summary(const char *text);
void tally_free(char *s);

#endif
