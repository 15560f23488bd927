//! Runs tests/torch/compare.py's single layers and its saved-and-exported run against PyTorch,
//! when python3 has torch and safetensors. CI has not: there the test says it skipped. The whole
//! table (depth 20 and 56 nets) takes far longer; run `python3 tests/torch/compare.py` by hand.
use std::process::Command;

#[test]
fn single_layers_and_an_exported_run_match_pytorch() {
    let has_torch = Command::new("python3")
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_torch {
        eprintln!(
            "SKIPPED torch comparison: python3 cannot import torch and safetensors \
             (pip install torch safetensors to run it)"
        );
        return;
    }
    let out = Command::new("python3")
        .args([
            "tests/torch/compare.py",
            "--bin",
            env!("CARGO_BIN_EXE_resnet-lab"),
            "--threads",
            "1",
            "--only",
            "op: ",
            "trained run",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "compare.py found a mismatch:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("| trained run (train --save) |"),
        "the exported run was compared:\n{stdout}"
    );
}
