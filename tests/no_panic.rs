//! No config input makes hdh panic. Mutations of the examples (truncations, byte flips,
//! inserted YAML punctuation and invalid UTF-8, duplicated and deleted lines, deep nesting) go
//! through the config loader with every provider's types; each must load or fail with located
//! errors, never panic. A sample also goes through the `hdh validate` binary: exit 0 or 1,
//! never 101 (Rust's panic exit), and a failure's first line names `file:line:col`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;

use hdh_engine::Providers;

const SEEDS: &[&str] = &[
    "examples/local.yaml",
    "examples/daskhub.yaml",
    "examples/eks-cluster.yaml",
    "tests/fixtures/valid/full.yaml",
];

/// Bytes that tend to matter to a YAML parser or to hdh's readers.
const INTERESTING: &[u8] = b"\0\t\n\r {}[]:,-?'\"#&*!|>%@`$\\\xff\xc3\x80";

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn providers(dir: &Path) -> Providers {
    let mut p = Providers::new();
    hdh_providers::register_local(&mut p, dir.to_path_buf());
    hdh_providers::register_aws(&mut p);
    hdh_providers::register_k8s(&mut p);
    p
}

/// (what was done, the mutated bytes) for one seed file.
fn mutations(seed: &[u8], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let n = seed.len();
    for k in 1..40 {
        let at = n * k / 40;
        out.push((format!("truncated at byte {at}"), seed[..at].to_vec()));
    }
    for _ in 0..150 {
        let at = rng.below(n);
        let b = INTERESTING[rng.below(INTERESTING.len())];
        let mut m = seed.to_vec();
        m[at] = b;
        out.push((format!("byte {at} set to {b:#04x}"), m));
    }
    for _ in 0..60 {
        let at = rng.below(n);
        let b = INTERESTING[rng.below(INTERESTING.len())];
        let mut m = seed.to_vec();
        m.insert(at, b);
        out.push((format!("byte {b:#04x} inserted at {at}"), m));
    }
    let lines: Vec<&[u8]> = seed.split_inclusive(|b| *b == b'\n').collect();
    for _ in 0..40 {
        let i = rng.below(lines.len());
        let mut dup = lines.clone();
        dup.insert(i, lines[i]);
        out.push((format!("line {} repeated", i + 1), dup.concat()));
        let mut del = lines.clone();
        del.remove(rng.below(lines.len()));
        out.push((format!("a line deleted near {}", i + 1), del.concat()));
    }
    for depth in [10, 100, 1_000, 50_000] {
        let mut m = seed.to_vec();
        m.extend_from_slice(b"\nnested: ");
        m.extend(vec![b'['; depth]);
        m.extend(vec![b']'; depth]);
        m.push(b'\n');
        out.push((format!("{depth} nested lists"), m.clone()));
        let mut maps = seed.to_vec();
        maps.extend_from_slice(b"\nnested: ");
        maps.extend(b"{a: ".repeat(depth));
        maps.extend(vec![b'}'; depth]);
        out.push((format!("{depth} nested maps"), maps));
    }
    out
}

/// Loads `bytes` as a config file; panics only if the loader did, saying with which input.
fn check_loads_or_locates(dir: &Path, types: &Providers, what: &str, bytes: &[u8]) {
    let path = dir.join("hdh.yaml");
    std::fs::write(&path, bytes).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| hdh_schema::load(&path, types)));
    let Ok(result) = result else {
        panic!("the loader panicked on: {what}");
    };
    if let Err(diags) = result {
        assert!(diags.total() > 0, "{what}: an error says what is wrong");
        for d in diags.iter() {
            assert!(
                d.line > 0 && d.column > 0,
                "{what}: every error is located: {d}"
            );
        }
    }
}

#[test]
fn mutations_of_the_examples_never_panic_the_loader() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let types = providers(dir.path());
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let mut count = 0;
    for seed in SEEDS {
        let bytes = std::fs::read(root.join(seed)).unwrap();
        for (what, m) in mutations(&bytes, &mut rng) {
            check_loads_or_locates(dir.path(), &types, &format!("{seed}: {what}"), &m);
            count += 1;
        }
    }
    assert!(count > 1_000, "{count} inputs tried");
}

#[test]
fn the_binary_never_exits_101_on_a_mutated_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rng = Rng(0x0bad_c0de_0000_0002);
    for seed in SEEDS {
        let bytes = std::fs::read(root.join(seed)).unwrap();
        let all = mutations(&bytes, &mut rng);
        for _ in 0..12 {
            let (what, m) = &all[rng.below(all.len())];
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("hdh.yaml"), m).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_hdh"))
                .arg("validate")
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 1)),
                "{seed}: {what}: exit {code:?}\n{stderr}"
            );
            if code == Some(1) {
                let first = stderr.lines().next().unwrap_or_default();
                let rest = first.strip_prefix("hdh.yaml:").unwrap_or_default();
                let mut parts = rest.splitn(3, ':');
                let line = parts.next().and_then(|l| l.parse::<usize>().ok());
                let col = parts.next().and_then(|c| c.parse::<usize>().ok());
                assert!(
                    line.is_some() && col.is_some(),
                    "{seed}: {what}: the first error is located: {first}"
                );
            }
        }
    }
}
