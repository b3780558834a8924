//! `hdh state list|show|rm` and `hdh force-unlock`: looking at and repairing recorded state.
//! (`state push` and `state migrate`, which move whole states, are in `state_move`.)

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use hdh_state_s3::Versioning;

use crate::errored;
use crate::exit::{user_error, Exit};
use crate::session::{describe_lock, store_error, Backend, Session};

pub async fn list(file: &Path) -> Result<Exit> {
    let session = Session::open(file)?;
    let state = session.load_state().await?;
    let width = state
        .resources
        .keys()
        .chain(state.retained.keys())
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (address, r) in &state.resources {
        println!("{address:width$}  {}  {}", r.type_name, r.id);
    }
    if !state.retained.is_empty() {
        println!("\nRetained (kept in the cloud, not managed; an apply of the same address adopts them):");
        for (address, r) in &state.retained {
            println!(
                "{address:width$}  {}  {}  (since {})",
                r.resource.type_name, r.resource.id, r.retained_at
            );
        }
    }
    for (address, r) in &state.deposed {
        println!(
            "{address:width$}  {}  {}  (replaced; deletion pending)",
            r.type_name, r.id
        );
    }
    for i in &state.intents {
        println!(
            "{:width$}  {}  pending {:?} since {}",
            i.address, i.type_name, i.action, i.started_at
        );
    }
    if state.resources.is_empty() && state.retained.is_empty() {
        println!("No resources in state {}.", session.store.location());
    }
    Ok(Exit::Ok)
}

pub async fn show(file: &Path, address: &str) -> Result<Exit> {
    let session = Session::open(file)?;
    let state = session.load_state().await?;
    let (r, retained) = match state.resources.get(address) {
        Some(r) => (r, false),
        None => match state.retained.get(address) {
            Some(r) => (&r.resource, true),
            None => {
                return Err(user_error(format!(
                    "{address} is not in state {}",
                    session.store.location()
                )))
            }
        },
    };
    println!(
        "{address} ({}){}",
        r.type_name,
        if retained { ", retained" } else { "" }
    );
    println!("  id = {}", r.id);
    let width = r.attributes.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in &r.attributes {
        println!("  {k:width$} = {v}");
    }
    if !r.dependencies.is_empty() {
        println!("  depends on: {}", r.dependencies.join(", "));
    }
    Ok(Exit::Ok)
}

/// `hdh state show` without an address: where state is and what it holds, and for S3 how the
/// object is protected.
pub async fn overview(file: &Path) -> Result<Exit> {
    let session = Session::open(file)?;
    let location = session.store.location();
    match &session.backend {
        Backend::Local(s) => {
            println!("State:      {location} (local file)");
            println!("Backup:     {}", s.backup_path().display());
        }
        Backend::S3(s) => {
            let region = &s.settings().region;
            println!("State:      {location} (S3, region {region})");
        }
    }
    let state = session.store.load().await.map_err(store_error)?;
    match &state {
        None => println!("No state stored yet (the first apply creates it)."),
        Some(state) => {
            println!("Lineage:    {}", state.lineage);
            println!("Serial:     {}", state.serial);
            println!(
                "Resources:  {} managed, {} retained, {} deposed, {} pending intents; {} outputs",
                state.resources.len(),
                state.retained.len(),
                state.deposed.len(),
                state.intents.len(),
                state.outputs.len()
            );
        }
    }
    if let Backend::S3(s) = &session.backend {
        if let Some(info) = s.object_info().await.map_err(store_error)? {
            let sse = info.server_side_encryption.as_deref().unwrap_or("none");
            match &info.kms_key_id {
                Some(key) => println!("Encryption: {sse} (key {key})"),
                None => println!("Encryption: {sse}"),
            }
        }
        let lock = s.current_lock().await.map_err(store_error)?;
        match lock {
            Some((holder, _)) => println!("Lock:       {}", describe_lock(&holder)),
            None => println!("Lock:       not locked"),
        }
        let bucket = &s.settings().bucket;
        match s.versioning().await.map_err(store_error)? {
            Versioning::Enabled => println!("Versioning: enabled on bucket {bucket}"),
            other => {
                println!("Versioning: {other} on bucket {bucket}");
                println!(
                    "  recommended: enable it, so every earlier state stays recoverable:\n  \
                     aws s3api put-bucket-versioning --bucket {bucket} \
                     --versioning-configuration Status=Enabled"
                );
            }
        }
    }
    for path in errored::leftovers(file, &session.config.name) {
        println!(
            "Not pushed: {} (a failed write left it; `hdh state push` uploads it)",
            path.display()
        );
    }
    Ok(Exit::Ok)
}

pub async fn rm(file: &Path, address: &str, lock_timeout: Duration) -> Result<Exit> {
    let session = Session::open(file)?;
    let mut run = session.begin("state rm", lock_timeout).await?;
    let state = &mut run.state;
    let Some(removed) = state
        .resources
        .remove(address)
        .or_else(|| state.retained.remove(address).map(|r| r.resource))
    else {
        let location = run.store().location();
        run.finish().await;
        return Err(user_error(format!("{address} is not in state {location}")));
    };
    run.commit()
        .await
        .map_err(|failed| errored::uncommitted(&session, file, failed))?;
    println!(
        "Removed {address} ({} {}) from state. The resource itself was not touched.",
        removed.type_name, removed.id
    );
    Ok(Exit::Ok)
}

pub async fn force_unlock(file: &Path, id: &str) -> Result<Exit> {
    let session = Session::open(file)?;
    session.store.force_unlock(id).await.map_err(store_error)?;
    println!("Lock {id} removed from {}.", session.store.location());
    Ok(Exit::Ok)
}
