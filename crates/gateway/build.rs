#![allow(clippy::unwrap_used, clippy::expect_used)]
// Rebuild when a migration or a template changes, and embed the migrations:
// `OUT_DIR/migrations.rs` lists every `migrations/<backend>/NNNN_name.sql` as
// (version, description, include_str!), which storage/migrations.rs turns
// into sqlx's `Migrator`. This is what `sqlx::migrate!` does, without its
// proc-macro crate (which builds sqlx, rustls, aws-lc and SQLite a second
// time for the compiler: about a minute of a fresh build).
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=templates");
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        files.sort();
        let _ = writeln!(
            out,
            "pub(crate) const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        );
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            // sqlx's own rule: `<version>_<description>.sql`, anything else is ignored.
            let Some((version, rest)) = name.split_once('_') else {
                continue;
            };
            let Some(description) = rest.strip_suffix(".sql") else {
                continue;
            };
            assert!(
                !description.ends_with(".up") && !description.ends_with(".down"),
                "{name}: reversible migrations are not supported by build.rs"
            );
            let version: i64 = version.parse().unwrap_or_else(|_| {
                panic!("{name}: a migration's name starts with its version number")
            });
            let _ = writeln!(
                out,
                "    ({version}, {:?}, include_str!({:?})),",
                description.replace('_', " "),
                path.display().to_string()
            );
        }
        out.push_str("];\n");
    }
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}
