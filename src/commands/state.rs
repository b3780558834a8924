//! `hdh state list|show|rm` and `hdh force-unlock`: looking at and repairing recorded state.

use std::path::Path;

use anyhow::Result;

use crate::exit::{user_error, Exit};
use crate::session::{store_error, Session};

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

pub async fn rm(file: &Path, address: &str) -> Result<Exit> {
    let session = Session::open(file)?;
    let lock = session.lock("state rm").await?;
    let result = async {
        let mut state = session.load_state().await?;
        let removed = state
            .resources
            .remove(address)
            .or_else(|| state.retained.remove(address).map(|r| r.resource))
            .ok_or_else(|| {
                user_error(format!(
                    "{address} is not in state {}",
                    session.store.location()
                ))
            })?;
        state.serial += 1;
        session.store.save(&state).await.map_err(store_error)?;
        println!(
            "Removed {address} ({} {}) from state. The resource itself was not touched.",
            removed.type_name, removed.id
        );
        Ok(Exit::Ok)
    }
    .await;
    session.unlock(&lock).await;
    result
}

pub async fn force_unlock(file: &Path, id: &str) -> Result<Exit> {
    let session = Session::open(file)?;
    session.store.force_unlock(id).await.map_err(store_error)?;
    println!("Lock {id} removed from {}.", session.store.location());
    Ok(Exit::Ok)
}
