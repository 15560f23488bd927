//! The SIMD kernels are compiled inside `#[target_feature]` functions (src/nn/ops/simd). Code
//! that escapes them (a closure is compiled as a function of its own, without its caller's
//! target features) calls every intrinsic out of line: still correct, so no numeric test sees
//! it, but one such closure cost a quarter of the training time. This test reads the binary's
//! machine code and fails when any function of this crate calls an intrinsic.
use std::process::Command;

#[test]
fn no_function_of_the_crate_calls_a_simd_intrinsic_out_of_line() {
    let bin = env!("CARGO_BIN_EXE_resnet-lab");
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "-C", bin])
        .output()
        .expect("objdump (binutils) is needed to read the binary's machine code");
    assert!(out.status.success(), "objdump failed on {bin}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut current = "";
    let mut ours = 0;
    let mut offenders = std::collections::BTreeSet::new();
    for line in text.lines() {
        // A function starts with `<address> <name>:`.
        if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")) {
            current = name.1;
            if current.starts_with("resnet_lab::nn::") {
                ours += 1;
            }
            continue;
        }
        if current.starts_with("resnet_lab::")
            && line.contains("call")
            && line.contains("core::core_arch::")
        {
            offenders.insert(current.to_string());
        }
    }
    // The scan must have seen the kernels at all (symbols present, names demangled).
    assert!(
        ours > 50,
        "only {ours} resnet_lab::nn functions found in {bin}"
    );
    assert!(
        offenders.is_empty(),
        "these functions call SIMD intrinsics out of line (a closure in kernel code?): {offenders:#?}"
    );
}
