//! `hdh validate`: the config alone, no state, no network.

use std::path::Path;

use anyhow::Result;

use crate::exit::Exit;
use crate::session::load_config;

pub fn run(file: &Path) -> Result<Exit> {
    let (config, _) = load_config(file)?;
    let n = config.desired.resources().len();
    println!(
        "{} is valid: stack {} in {}, {n} resource{}.",
        file.display(),
        config.name,
        config.region,
        if n == 1 { "" } else { "s" }
    );
    Ok(Exit::Ok)
}
