//! No input makes hdh panic: thousands of mutants of every example, valid fixture and file
//! of the bad-input corpus (bytes flipped, lines dropped, doubled and swapped, YAML syntax and
//! extreme numbers spliced in, deep nesting, truncation) go through the whole offline path `hdh validate` runs (YAML,
//! rules, blueprint, compile), and mutants of a real state file through the state decoder. Each
//! must end in a config or located diagnostics, a state or an error — never a panic.
//!
//! The mutants are drawn from a fixed seed, so a failure names a mutant that reproduces; the
//! sweep over more seeds is `HDH_MUTATIONS=100000 HDH_MUTATION_SEED=N cargo test --workspace
//! --test no_panic -- --nocapture`.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use support::runner::Hdh;

/// A small, deterministic generator (xorshift64*): the mutants must be the same on every
/// machine for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPLICES: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    "- ",
    "${",
    "}",
    "${name",
    "${a.b.c}",
    "\"",
    "'",
    "\t",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!int ",
    "? ",
    "|",
    ">-",
    "#",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "~",
    "null",
    "18446744073709551616",
    "-1",
    "1e400",
    ".nan",
    "-.inf",
    "0x7fffffffffffffff",
    "99999999999999999999999999",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{feff}",
    "\u{202e}",
    "日本",
    "🚀",
    "\r",
    "\r\n",
    "  ",
    "    ",
    "type: ",
    "properties: ",
    "daskhub:",
    "resources:",
    "depends_on: [",
    "${self}",
    "$${",
    "\\",
    "\n",
    "10.0.0.0/33",
    "256.1.1.1/8",
    "us-east-1z",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(4) {
        s = match rng.below(9) {
            // splice syntax or an extreme value at a character boundary
            0 | 1 => {
                let at = boundary(&s, rng.below(s.len() + 1));
                let what = SPLICES[rng.below(SPLICES.len())];
                format!("{}{}{}", &s[..at], what, &s[at..])
            }
            // drop a line
            2 => edit_lines(
                &s,
                |l, r| {
                    if !l.is_empty() {
                        l.remove(r.below(l.len()));
                    }
                },
                rng,
            ),
            // double a line
            3 => edit_lines(
                &s,
                |l, r| {
                    if !l.is_empty() {
                        let i = r.below(l.len());
                        l.insert(i, l[i].clone());
                    }
                },
                rng,
            ),
            // swap two lines
            4 => edit_lines(
                &s,
                |l, r| {
                    if !l.is_empty() {
                        let (a, b) = (r.below(l.len()), r.below(l.len()));
                        l.swap(a, b);
                    }
                },
                rng,
            ),
            // change a line's indentation
            5 => edit_lines(
                &s,
                |l, r| {
                    if !l.is_empty() {
                        let i = r.below(l.len());
                        let body = l[i].trim_start().to_string();
                        l[i] = format!("{}{body}", " ".repeat(r.below(12)));
                    }
                },
                rng,
            ),
            // truncate
            6 => s[..boundary(&s, rng.below(s.len() + 1))].to_string(),
            // flip a byte, kept only where the result is still text (the bytes path is tested
            // through the binary's not-UTF-8 diagnostics)
            7 => {
                let mut b = s.clone().into_bytes();
                if !b.is_empty() {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(7);
                }
                String::from_utf8(b).unwrap_or(s)
            }
            // replace a scalar after a colon with an extreme one
            _ => edit_lines(
                &s,
                |l, r| {
                    let with: Vec<usize> = (0..l.len()).filter(|i| l[*i].contains(": ")).collect();
                    if !with.is_empty() {
                        let i = with[r.below(with.len())];
                        let key = l[i][..l[i].find(": ").unwrap()].to_string();
                        let v = SPLICES[r.below(SPLICES.len())];
                        l[i] = format!("{key}: {v}");
                    }
                },
                rng,
            ),
        };
    }
    s
}

fn boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn edit_lines(s: &str, f: impl FnOnce(&mut Vec<String>, &mut Rng), rng: &mut Rng) -> String {
    let mut lines: Vec<String> = s.lines().map(String::from).collect();
    f(&mut lines, rng);
    lines.join("\n")
}

fn count() -> usize {
    std::env::var("HDH_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1500)
}

fn seed() -> u64 {
    std::env::var("HDH_MUTATION_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x6864_6821)
}

/// Every resource type hdh knows, as `hdh validate` has them.
fn providers_for(base: &Path) -> hdh_engine::Providers {
    let mut p = hdh_engine::Providers::new();
    hdh_providers::register_local(&mut p, base.to_path_buf());
    hdh_providers::register_aws(&mut p);
    hdh_providers::register_k8s(&mut p);
    p
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "tests/fixtures/valid"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn malformed() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/malformed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs `f` and turns a panic into the message, with the mutant saved for reproduction.
fn no_panic<T>(what: &str, input: &[u8], f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let keep = std::env::temp_dir().join(format!("hdh-panic-{}.txt", std::process::id()));
        let _ = std::fs::write(&keep, input);
        format!(
            "{what} panicked ({msg}); the input is in {}",
            keep.display()
        )
    })
}

#[test]
fn no_mutant_of_any_config_makes_validation_panic() {
    let files = configs();
    assert!(files.len() >= 5, "only {} configs to mutate", files.len());
    let mut rng = Rng(seed());
    let mut rejected = 0;
    let mut accepted = 0;
    let n = count();
    // quiet: a caught panic must not also print its message for every mutant
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let broken = malformed();
    for i in 0..n {
        // two in three from the valid configs, the rest from the bad-input corpus
        let path = if i % 3 == 2 {
            &broken[rng.below(broken.len())]
        } else {
            &files[i % files.len()]
        };
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let mutant = mutate(&text, &mut rng);
        let base = path.parent().unwrap();
        let types = providers_for(base);
        match no_panic(
            &format!("mutant {i} of {}", path.display()),
            mutant.as_bytes(),
            || hdh_schema::parse_str(&mutant, "hdh.yaml", base, &types),
        ) {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(d)) => {
                rejected += 1;
                for line in d.to_string().lines() {
                    if !line.starts_with("hdh.yaml:") && !line.starts_with("  ") && !line.is_empty()
                    {
                        failures.push(format!(
                            "mutant {i}: a diagnostic without a location: {line}"
                        ));
                        break;
                    }
                }
            }
            Err(e) => failures.push(e),
        }
        if failures.len() > 5 {
            break;
        }
    }
    // nesting deeper than any parser's recursion: an error, not a stack overflow
    for (what, deep) in [
        (
            "[",
            format!(
                "version: 1\nname: x\nregion: us-east-1\nresources: {}",
                "[".repeat(100_000)
            ),
        ),
        (
            "{a: ",
            format!(
                "version: 1\nname: x\nregion: us-east-1\nresources: {}",
                "{a: ".repeat(50_000)
            ),
        ),
        (
            "- ",
            format!(
                "version: 1\nname: x\nregion: us-east-1\nresources:\n{}",
                (0..3000)
                    .map(|i| format!("{}- \n", " ".repeat(i * 2)))
                    .collect::<String>()
            ),
        ),
    ] {
        let types = providers_for(Path::new("."));
        match no_panic(&format!("{what} nested deeply"), deep.as_bytes(), || {
            hdh_schema::parse_str(&deep, "hdh.yaml", Path::new("."), &types)
        }) {
            Ok(r) => assert!(r.is_err(), "{what} nested deeply was accepted"),
            Err(e) => failures.push(e),
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "{n} mutants of {} valid configs and {} bad ones: {rejected} rejected with located \
         errors, {accepted} still valid",
        files.len(),
        broken.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        rejected > n / 2,
        "most mutants should be invalid: {rejected} of {n}"
    );
}

/// A real state file (what `hdh apply` of the local example wrote), mutated.
#[test]
fn no_mutant_of_a_state_file_makes_the_state_decoder_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("examples/local.yaml"),
        dir.path().join("local.yaml"),
    )
    .unwrap();
    let out = Hdh::plain().dir(dir.path()).run([
        "apply",
        "-f",
        "local.yaml",
        "--auto-approve",
        "--no-color",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    let state = dir.path().join(".hdh/local-demo.state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    hdh_state::decode(text.as_bytes(), "state").expect("the real state decodes");
    let mut rng = Rng(seed() ^ 0x5747_4154);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut refused = 0;
    let n = count();
    for i in 0..n {
        let mut mutant = mutate(&text, &mut rng);
        // and numbers at their limits where serials and versions live
        if i % 5 == 0 {
            for key in ["\"serial\": ", "\"format_version\": ", "\"version\": "] {
                if let Some(at) = mutant.find(key) {
                    let start = at + key.len();
                    let end = mutant[start..]
                        .find([',', '\n', '}'])
                        .map_or(mutant.len(), |e| start + e);
                    let v = [
                        "18446744073709551615",
                        "-1",
                        "1e400",
                        "null",
                        "\"1\"",
                        "1.5",
                    ][rng.below(6)];
                    mutant.replace_range(start..end, v);
                }
            }
        }
        match no_panic(&format!("state mutant {i}"), mutant.as_bytes(), || {
            hdh_state::decode(mutant.as_bytes(), "state").map_err(drop)
        }) {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => refused += 1,
            Err(e) => failures.push(e),
        }
        if failures.len() > 5 {
            break;
        }
    }
    std::panic::set_hook(hook);
    eprintln!("{n} state mutants: {refused} refused");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        refused > n / 2,
        "most mutants should be refused: {refused} of {n}"
    );
}
