//! `hdh import`: brings resources other tools made (a hub built with the HelioCloud seed's
//! scripts: CDK, eksctl, helm) under hdh by matching the config's resources to them and
//! recording them in state, all in one write or not at all. Touches nothing in the cloud.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use hdh_engine::import::{match_all, Matches, Outcome};
use hdh_engine::state::{ResourceState, State};
use hdh_engine::Value;

use crate::cli::ImportArgs;
use crate::errored;
use crate::exit::{user_error, Exit, UserError};
use crate::session::Session;

/// `ADDRESS=ID` pairs into a map; the address may itself hold `=` only inside `["…"]` keys,
/// so the id is after the last `=`.
fn parse_ids(given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    for g in given {
        let Some((address, id)) = g
            .rsplit_once('=')
            .filter(|(a, i)| !a.is_empty() && !i.is_empty())
        else {
            return Err(user_error(format!(
                "--id `{g}`: expected ADDRESS=ID, e.g. --id daskhub.network.vpc=vpc-0abc"
            )));
        };
        if ids.insert(address.to_string(), id.to_string()).is_some() {
            return Err(user_error(format!("--id: {address} is given twice")));
        }
    }
    Ok(ids)
}

pub async fn run(file: &Path, args: &ImportArgs) -> Result<Exit> {
    let ids = parse_ids(&args.ids)?;
    let session = Session::open(file)?;
    if let Some(path) = errored::leftovers(file, &session.config.name).first() {
        return Err(UserError::new(format!(
            "{} holds the state of a run whose write failed",
            path.display()
        ))
        .hint("`hdh state push` it first; nothing was imported")
        .into());
    }
    let mut run = session.begin("import", args.lock.lock_timeout).await?;
    let found = to_import(&session, &run.state, args, &ids).await;
    let entries = match found {
        Ok(Some(entries)) => entries,
        other => {
            run.finish().await;
            return other.map(|_| Exit::Ok);
        }
    };
    let n = entries.len();
    run.state.resources.extend(entries);
    run.commit()
        .await
        .map_err(|failed| errored::uncommitted(&session, file, failed))?;
    println!(
        "\nImported {n} resource{} into {}. Run `hdh plan` to see what differs from the config.",
        if n == 1 { "" } else { "s" },
        session.store.location()
    );
    Ok(Exit::Ok)
}

/// Matches the config's resources to what exists and shows the result; what to record in
/// state, or `None` where nothing is to be written (a dry run, nothing new).
async fn to_import(
    session: &Session,
    state: &State,
    args: &ImportArgs,
    ids: &BTreeMap<String, String>,
) -> Result<Option<BTreeMap<String, ResourceState>>> {
    if !state.intents.is_empty() {
        return Err(
            UserError::new("state holds operations an interrupted run left unsettled")
                .hint(
                    "run `hdh plan` or `hdh apply` first (they settle them); nothing was imported",
                )
                .into(),
        );
    }
    let matches = match_all(
        &session.config.desired,
        state,
        &session.providers,
        &session.ctx(),
        ids,
    )
    .await
    .map_err(|e| user_error(e.to_string()))?;
    print!("{}", render(&matches));
    let refused = matches.refused().count();
    if refused > 0 && args.partial {
        eprintln!(
            "warning: --partial: {refused} refused resource{} stay out of state; the next \
             plan creates {}",
            if refused == 1 { "" } else { "s" },
            if refused == 1 { "it" } else { "them" }
        );
    } else if refused > 0 {
        return Err(UserError::new(format!(
            "{refused} resource{} could not be matched with certainty; nothing was written to state",
            if refused == 1 { "" } else { "s" }
        ))
        .hint("give the right id with --id 'ADDRESS=ID' (repeatable), or change the config")
        .into());
    }
    if args.dry_run {
        println!("\nDry run: nothing was written to state.");
        return Ok(None);
    }
    if matches.entries.is_empty() {
        println!("\nNothing new to import.");
        return Ok(None);
    }
    Ok(Some(matches.entries))
}

/// One line per address: what was found, how, or why not; then the counts.
fn render(m: &Matches) -> String {
    let mut out = String::new();
    for l in &m.lines {
        let text = match &l.outcome {
            Outcome::Matched { id, matched_by } => {
                format!("  <= {} ← {id} ({matched_by})", l.address)
            }
            Outcome::InState { id } => format!("   = {} ({id}, already in state)", l.address),
            Outcome::Retained { id } => {
                format!(
                    "   = {} ({id}, retained: the next apply adopts it)",
                    l.address
                )
            }
            Outcome::Absent { detail } => format!("   + {} ({}: {detail})", l.address, l.type_name),
            Outcome::Ambiguous { candidates } => {
                let list: Vec<String> = candidates
                    .iter()
                    .map(|(id, how)| format!("      {id} ({how})"))
                    .collect();
                format!(
                    "   ! {}: {} candidates, refused:\n{}",
                    l.address,
                    candidates.len(),
                    list.join("\n")
                )
            }
            Outcome::Contradicts {
                id,
                matched_by,
                differences,
            } => {
                let list: Vec<String> = differences
                    .iter()
                    .map(|(k, have, want)| match want {
                        Value::Unknown => format!(
                            "      {k} is {have} there; the config's comes from a resource \
                             import did not match (apply would make that new, and this again)"
                        ),
                        _ => format!("      {k} is {have} there, the config says {want}"),
                    })
                    .collect();
                format!(
                    "   ! {}: {id} ({matched_by}) is not what the config describes \
                     (cannot change in place), refused:\n{}",
                    l.address,
                    list.join("\n")
                )
            }
            Outcome::GivenIdMissing { id } => format!(
                "   ! {}: no {} with id {id}, refused",
                l.address, l.type_name
            ),
            Outcome::Claimed { id, by } => {
                format!("   ! {}: {id} is already {by}'s, refused", l.address)
            }
            Outcome::Failed { message, .. } => format!("   ! {}: {message}", l.address),
        };
        out.push_str(&text);
        out.push('\n');
    }
    let matched = m.count(|o| matches!(o, Outcome::Matched { .. }));
    let in_state = m.count(|o| matches!(o, Outcome::InState { .. } | Outcome::Retained { .. }));
    let absent = m.count(|o| matches!(o, Outcome::Absent { .. }));
    let refused = m.count(Outcome::refused);
    out.push_str(&format!(
        "\nImport: {matched} matched, {in_state} already in state, {absent} to create, {refused} refused (of {} resources).\n",
        m.lines.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_at_the_last_equals_sign() {
        let ids = parse_ids(&[
            r#"daskhub.network.subnet.public["us-east-1a"]=subnet-1"#.into(),
            "daskhub.network.vpc=vpc-1".into(),
        ])
        .unwrap();
        assert_eq!(ids["daskhub.network.vpc"], "vpc-1");
        assert_eq!(
            ids[r#"daskhub.network.subnet.public["us-east-1a"]"#],
            "subnet-1"
        );
        assert!(parse_ids(&["daskhub.network.vpc".into()]).is_err());
        assert!(parse_ids(&["a=x".into(), "a=y".into()]).is_err());
    }
}
