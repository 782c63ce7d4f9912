// Written by hand (not generated): the C functions of lib/greet/src/lib.rs.
// Link lib/libgreet.a (a Rust staticlib) and -ldl.

#include <stdint.h>

void greet(const char *name);
void whisper(const char *message);
void count_greetings(uint32_t n);
