//! The business documentation, run: `docs/integration.md`'s shell examples
//! and `examples/kyc_journey.py` against the real `digilocker-gateway`
//! binary, freshly started in sandbox mode, exactly as a reader would run
//! them; and the documents checked to stand on their own (no reference
//! outside the repository, links that resolve, every API path and error
//! code of `docs/openapi.json` in `docs/api.md`).
//!
//! Needs `bash`, `curl` and `python3` (`scripts/install-test-deps.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The base URL the documentation's commands are written for.
const DOCUMENTED_BASE: &str = "http://127.0.0.1:8080";
/// Fields whose documented value must be the answer's value too (the rest
/// vary: ids, times, links).
const EXACT_FIELDS: &[&str] = &["status", "success", "code", "sessionId"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A `digilocker-gateway serve` process, stopped on drop; its output kept
/// for failure messages.
struct Gateway {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Start the binary in sandbox mode on a free port with `data_dir`, and
    /// wait for the `listening on <addr>` line.
    fn start(data_dir: &Path) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            // Nothing of the caller's environment: sandbox mode, SQLite.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start digilocker-gateway");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        // Both pipes are drained for the process's whole life: the access
        // log goes there, and a full pipe would stop the gateway.
        for (pipe, tx) in [
            (Box::new(stdout) as Box<dyn Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(addr)) = (&tx, line.split("listening on ").nth(1)) {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut gateway = Gateway {
            child,
            base: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(addr) => gateway.base = format!("http://{addr}"),
            Err(_) => panic!(
                "the gateway did not print `listening on`:\n{}",
                gateway.log_tail()
            ),
        }
        gateway
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let from = log.len().saturating_sub(60);
        log[from..].join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One fenced code block of a Markdown document.
#[derive(Debug, Clone)]
struct Fence {
    info: String,
    code: String,
    /// 1-based line of the opening fence.
    line: usize,
    /// The reason given by a `<!-- docs-test: skip (...) -->` comment on
    /// the last non-blank line before the fence.
    skip: Option<String>,
}

/// Every fenced block, in order. HTML comments are not scanned for fences.
fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<Fence> = None;
    let mut in_comment = false;
    let mut last_text = "";
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(fence) = open.as_mut() {
            if trimmed == "```" {
                out.push(open.take().unwrap());
            } else {
                fence.code.push_str(line);
                fence.code.push('\n');
            }
            continue;
        }
        if in_comment {
            in_comment = !trimmed.contains("-->");
            last_text = trimmed;
            continue;
        }
        if trimmed.starts_with("<!--") && !trimmed.contains("-->") {
            in_comment = true;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let skip = last_text
                .strip_prefix("<!-- docs-test: skip")
                .map(|rest| rest.trim_end_matches("-->").trim().to_owned());
            open = Some(Fence {
                info: info.trim().to_owned(),
                code: String::new(),
                line: i + 1,
                skip,
            });
        }
        if !trimmed.is_empty() {
            last_text = trimmed;
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

/// What a shell block is documented to print.
#[derive(Debug)]
enum Expected {
    Json(Value),
    Text(String),
}

/// A shell block to run, and what it should print.
#[derive(Debug)]
struct Example {
    fence: Fence,
    expected: Option<Expected>,
}

fn examples(markdown: &str) -> (Vec<Example>, Vec<Fence>) {
    let all = fences(markdown);
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for (i, fence) in all.iter().enumerate() {
        if fence.info != "sh" {
            continue;
        }
        if fence.skip.is_some() {
            skipped.push(fence.clone());
            continue;
        }
        let expected = all.get(i + 1).and_then(|next| match next.info.as_str() {
            "json" => Some(Expected::Json(
                serde_json::from_str(&next.code).unwrap_or_else(|e| {
                    panic!("the json block at line {} is not JSON: {e}", next.line)
                }),
            )),
            "text" => Some(Expected::Text(next.code.trim().to_owned())),
            _ => None,
        });
        run.push(Example {
            fence: fence.clone(),
            expected,
        });
    }
    (run, skipped)
}

/// Differences between a documented answer and a real one: the same
/// fields with the same JSON types, recursively (every element of an array
/// against the documented first), and the same values for `EXACT_FIELDS`
/// and booleans.
fn compare(documented: &Value, actual: &Value, path: &str, problems: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Object(d), Value::Object(a)) => {
            let dk: BTreeSet<&String> = d.keys().collect();
            let ak: BTreeSet<&String> = a.keys().collect();
            for k in dk.difference(&ak) {
                problems.push(format!("{path}.{k}: documented, missing in the answer"));
            }
            for k in ak.difference(&dk) {
                problems.push(format!("{path}.{k}: in the answer, not documented"));
            }
            for (k, dv) in d {
                if let Some(av) = a.get(k) {
                    let here = format!("{path}.{k}");
                    if EXACT_FIELDS.contains(&k.as_str()) && dv.is_string() && dv != av {
                        problems.push(format!("{here}: documented {dv}, answered {av}"));
                    }
                    compare(dv, av, &here, problems);
                }
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if let Some(first) = d.first() {
                if a.is_empty() {
                    problems.push(format!("{path}: documented with entries, answered empty"));
                }
                for (i, av) in a.iter().enumerate() {
                    compare(first, av, &format!("{path}[{i}]"), problems);
                }
            }
        }
        (Value::Bool(d), Value::Bool(a)) if d != a => {
            problems.push(format!("{path}: documented {d}, answered {a}"));
        }
        (d, a) if std::mem::discriminant(d) != std::mem::discriminant(a) => {
            problems.push(format!("{path}: documented {d}, answered {a}"));
        }
        _ => {}
    }
}

/// Run `script` under bash, killed after `limit`.
fn run_bash(script: &Path, cwd: &Path, limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new("bash")
        .arg(script)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("LANG", "C.UTF-8")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, reader.join().unwrap_or_default())
}

#[test]
fn the_integration_guide_and_the_example_program_run_against_a_fresh_gateway() {
    let guide = read("docs/integration.md");
    let (examples, skipped) = examples(&guide);
    assert!(
        examples.len() >= 15,
        "only {} runnable sh blocks found in docs/integration.md",
        examples.len()
    );
    for s in &skipped {
        eprintln!(
            "not run: the sh block at docs/integration.md:{} {}",
            s.line,
            s.skip.as_deref().unwrap_or_default()
        );
    }
    assert!(
        skipped.len() <= 2,
        "more sh blocks skipped than the two a test can't run (the gateway's start, a browser): {skipped:?}"
    );

    // A directory laid out like the repository's root after `serve`:
    // `data/` the gateway's data directory, `examples/` the repository's.
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("data");
    std::os::unix::fs::symlink(repo_root().join("examples"), work.path().join("examples")).unwrap();
    let gateway = Gateway::start(&data_dir);

    // One bash session runs every block in order (later blocks use the
    // variables of earlier ones); each block's output goes to its own file.
    let out = work.path().join("docs-test");
    std::fs::create_dir(&out).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    for (i, example) in examples.iter().enumerate() {
        let code = example.fence.code.replace(DOCUMENTED_BASE, &gateway.base);
        script.push_str(&format!(
            "echo {i} > '{dir}/current'\n{{\n{code}}} > '{dir}/{i}.out'\n",
            dir = out.display()
        ));
    }
    script.push_str(&format!("echo done > '{}/current'\n", out.display()));
    let script_path = out.join("integration.sh");
    std::fs::write(&script_path, &script).unwrap();
    let (status, stderr) = run_bash(&script_path, work.path(), Duration::from_secs(900));

    let reached = std::fs::read_to_string(out.join("current")).unwrap_or_default();
    if status != Some(0) || reached.trim() != "done" {
        let failed = reached.trim().parse::<usize>().ok();
        let (line, code, output) = match failed {
            Some(i) => (
                examples[i].fence.line,
                examples[i].fence.code.clone(),
                std::fs::read_to_string(out.join(format!("{i}.out"))).unwrap_or_default(),
            ),
            None => (0, String::new(), String::new()),
        };
        panic!(
            "docs/integration.md: the sh block at line {line} failed (exit status {status:?}):\n\
             {code}\n--- its output:\n{output}\n--- stderr:\n{stderr}\n--- gateway log:\n{}",
            gateway.log_tail()
        );
    }

    let mut problems = Vec::new();
    for (i, example) in examples.iter().enumerate() {
        let output = std::fs::read_to_string(out.join(format!("{i}.out"))).unwrap();
        let at = format!("docs/integration.md:{}", example.fence.line);
        match &example.expected {
            None => {}
            Some(Expected::Text(text)) if output.trim() != text => {
                problems.push(format!("{at}: documented {text:?}, printed {output:?}"));
            }
            Some(Expected::Text(_)) => {}
            Some(Expected::Json(documented)) => match serde_json::from_str::<Value>(&output) {
                Ok(actual) => {
                    let mut found = Vec::new();
                    compare(documented, &actual, "answer", &mut found);
                    problems.extend(found.into_iter().map(|p| format!("{at}: {p}")));
                }
                Err(e) => problems.push(format!("{at}: printed no JSON ({e}): {output}")),
            },
        }
    }
    eprintln!(
        "ran {} sh blocks of docs/integration.md; {} documented answers compared",
        examples.len(),
        examples.iter().filter(|e| e.expected.is_some()).count()
    );
    assert!(
        problems.is_empty(),
        "docs/integration.md and the gateway disagree:\n{}",
        problems.join("\n")
    );

    // The example program, as a reader runs it against this gateway.
    let program = Command::new("python3")
        .arg(repo_root().join("examples/kyc_journey.py"))
        .arg("--base")
        .arg(&gateway.base)
        .arg("--credentials")
        .arg(data_dir.join("sandbox-credentials.json"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&program.stdout);
    let stderr = String::from_utf8_lossy(&program.stderr);
    assert!(
        program.status.success() && stdout.contains("journey complete"),
        "examples/kyc_journey.py failed ({}):\n{stdout}\n{stderr}\n--- gateway log:\n{}",
        program.status,
        gateway.log_tail()
    );
    for step in [
        "1. create",
        "2. the user signs in",
        "5. fetch the Aadhaar",
        "6. fetch PAN",
        "7. revoke",
    ] {
        assert!(
            stdout.contains(step),
            "the program skipped {step:?}:\n{stdout}"
        );
    }
}

/// The README and `docs/*.md`, as a business reads them from a fresh clone.
fn business_documents() -> Vec<(String, String)> {
    let mut docs = vec![("README.md".to_owned(), read("README.md"))];
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    for n in names {
        let path = format!("docs/{n}");
        let text = read(&path);
        docs.push((path, text));
    }
    docs
}

#[test]
fn the_documents_stand_on_their_own() {
    let docs = business_documents();
    for name in ["docs/api.md", "docs/integration.md", "docs/migrating.md"] {
        assert!(docs.iter().any(|(n, _)| n == name), "{name} is missing");
    }
    // Nothing points outside the repository.
    for (name, text) in &docs {
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            for outside in [
                "shared project folder",
                "shared folder",
                "../shared",
                "/work/",
                "spec/contract.md",
                "spec/upstream.md",
                "seed.txt",
            ] {
                assert!(
                    !lower.contains(outside),
                    "{name}:{}: refers to {outside:?} outside the repository: {line}",
                    i + 1
                );
            }
        }
    }
    // Every relative link resolves to a file of the repository.
    for (name, text) in &docs {
        let dir = repo_root().join(name).parent().unwrap().to_owned();
        for target in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            assert!(
                dir.join(file).exists(),
                "{name}: the link {target} leads nowhere"
            );
        }
    }
    // The README's first screen sends the reader to the three documents.
    let readme = read("README.md");
    let first_screen: String = readme.lines().take(40).collect::<Vec<_>>().join("\n");
    for link in ["docs/api.md", "docs/integration.md", "docs/migrating.md"] {
        assert!(
            first_screen.contains(&format!("]({link})")),
            "the README's first screen does not link {link}"
        );
    }
    // The reference covers what the OpenAPI document declares: every path,
    // and every error code its answers name.
    let api = read("docs/api.md");
    let openapi: Value = serde_json::from_str(&read("docs/openapi.json")).unwrap();
    let paths = openapi["paths"].as_object().unwrap();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                let heading = format!("`{} {path}`", method.to_uppercase());
                assert!(api.contains(&heading), "docs/api.md has no {heading}");
            }
        }
        let described = item.to_string();
        for code in described.split('`').skip(1).step_by(2) {
            let is_code =
                code.len() > 3 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if is_code {
                assert!(
                    api.contains(&format!("| `{code}` |")),
                    "docs/api.md's error table lacks `{code}` ({path})"
                );
            }
        }
    }
}
