/* C ABI of the wordstat library (crate wordstat, uses Rust std).
 * Link with -lwordstat plus the native libraries rustc reports
 * (--print native-static-libs). */
#ifndef WORDSTAT_H
#define WORDSTAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WORDSTAT_ABI_VERSION 1u

uint32_t wordstat_abi_version(void);

/* Number of words (alphanumeric runs) in text; 0 for NULL or bad UTF-8. */
size_t wordstat_count(const char *text);

/* "words=N distinct=M top=w:n,... lengths=len:n,..." as a string the
 * caller frees with wordstat_free; NULL for NULL or bad UTF-8. */
char *wordstat_report(const char *text);

void wordstat_free(char *s);

#ifdef __cplusplus
}
#endif

#endif /* WORDSTAT_H */
