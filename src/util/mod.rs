//! Small helpers shared by the CLI, the app and the loaders: the one file-writing path, safe
//! reading of untrusted files, JSON floats that survive NaN, the memory limit, CSV quoting.
pub mod json_float;
mod mem;
mod read;
#[cfg(not(target_arch = "wasm32"))]
mod write;
// wasm32 in a browser has no file system: the same API, every write a download.
#[cfg(target_arch = "wasm32")]
#[path = "write_web.rs"]
mod write;

pub use mem::{MEM_LIMIT_ENV, MemLimit, mem_limit, parse_mem_limit, set_mem_limit};
pub use read::{bytes_text, open_regular, read_regular, read_regular_text};
pub use write::{
    TEMP_SUFFIX, check_writable, create_dir_all, install_signal_cleanup, is_temp_name, kind_of,
    temp_files_in, write_atomic, write_atomic_with,
};

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
