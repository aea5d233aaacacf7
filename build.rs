//! Embeds the built-in playbooks: every `playbooks/*.yaml`, in name order, becomes an entry of
//! `BUILTIN_PLAYBOOKS` (`(file name, contents)`), so adding a playbook is adding a file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("playbooks/ exists")
        .map(|entry| entry.expect("readable playbooks/").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut table = String::from(
        "/// Built-in playbooks: `(file name, YAML)`, in name order.\npub const BUILTIN_PLAYBOOKS: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        let name = path.file_name().unwrap().to_str().expect("UTF-8 file name");
        writeln!(
            table,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    table.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_playbooks.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}
