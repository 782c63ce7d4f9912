//! Cortex-M: vector table, reset handler and `bkpt 0xAB` semihosting.

#[link_section = ".vector_table.reset_vector"]
#[no_mangle]
pub static __RESET_VECTOR: unsafe extern "C" fn() -> ! = Reset;

/// NMI, HardFault, MemManage, BusFault, UsageFault, 4 reserved, SVCall,
/// DebugMonitor, reserved, PendSV, SysTick: every fault ends the session
/// with a failure instead of hanging the emulator.
#[link_section = ".vector_table.exceptions"]
#[no_mangle]
pub static __EXCEPTIONS: [Option<unsafe extern "C" fn() -> !>; 14] = [
    Some(Fault),
    Some(Fault),
    Some(Fault),
    Some(Fault),
    Some(Fault),
    None,
    None,
    None,
    None,
    Some(Fault),
    Some(Fault),
    None,
    Some(Fault),
    Some(Fault),
];

#[no_mangle]
pub unsafe extern "C" fn Reset() -> ! {
    // Hard-float images need the FPU on before the first FP instruction.
    #[cfg(target_abi = "eabihf")]
    {
        const CPACR: *mut u32 = 0xE000_ED88 as *mut u32;
        CPACR.write_volatile(CPACR.read_volatile() | (0xF << 20));
        core::arch::asm!("dsb", "isb");
    }
    super::init_ram_and_run()
}

#[no_mangle]
pub unsafe extern "C" fn Fault() -> ! {
    super::write_str(b"beacon-fw: fault\n\0");
    super::exit(1)
}

pub unsafe fn semihost(op: usize, arg: usize) -> usize {
    let ret;
    core::arch::asm!("bkpt 0xAB", inout("r0") op => ret, in("r1") arg, options(nostack));
    ret
}
