//! RISC-V 32: `_start` and the semihosting trap sequence.

core::arch::global_asm!(
    r#"
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
    call {start}
1:  j 1b

    .section .text.semihost, "ax"
    .globl __beacon_semihost
    .balign 16
__beacon_semihost:
    .option push
    .option norvc
    slli zero, zero, 0x1f
    ebreak
    srai zero, zero, 7
    .option pop
    ret
"#,
    start = sym start,
);

unsafe extern "C" fn start() -> ! {
    super::init_ram_and_run()
}

extern "C" {
    fn __beacon_semihost(op: usize, arg: usize) -> usize;
}

pub unsafe fn semihost(op: usize, arg: usize) -> usize {
    __beacon_semihost(op, arg)
}
