/* C ABI of ledger (Rust, uses std). Link with -lledger plus the native
 * libraries rustc reports (--print native-static-libs). */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_ABI_VERSION 1u

typedef struct Ledger Ledger;

uint32_t ledger_abi_version(void);
Ledger *ledger_new(void);
/* 0, or -1 for NULL arguments or a meter name that is not UTF-8. */
int32_t ledger_record(Ledger *l, const char *meter, uint64_t value);
/* "name=total/count,..." in name order; free with ledger_free_string. */
char *ledger_summary(const Ledger *l);
void ledger_free_string(char *s);
void ledger_free(Ledger *l);

#ifdef __cplusplus
}
#endif

#endif /* LEDGER_H */
