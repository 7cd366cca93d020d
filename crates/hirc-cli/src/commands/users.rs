//! `user add|list|remove|passwd` and `recover`.

use anyhow::Result;
use hirc_core::model::Role;

use crate::Ctx;
use crate::cli::{RoleArg, UserCommand};
use crate::output;

/// `hirc user …`.
pub fn run(ctx: &mut Ctx, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, role } => {
            let (mut desk, session) = ctx.unlock()?;
            let passphrase = ctx
                .input
                .new_passphrase(&format!("New passphrase for {}: ", name.trim()))?;
            let role = match role {
                RoleArg::Ambassador => Role::Ambassador,
                RoleArg::Coordinator => Role::Coordinator,
            };
            let user = desk.add_user(&session, &name, role, &passphrase, ctx.kdf()?)?;
            println!(
                "Added {} ({}).",
                user.name,
                user.role.label().to_lowercase()
            );
        }
        UserCommand::List(flag) => {
            let (desk, _session) = ctx.unlock()?;
            let users = desk.users()?;
            if flag.json {
                return output::json(&users);
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone(),
                        u.role.as_str().into(),
                        output::when(&u.created_at),
                    ]
                })
                .collect();
            output::table(&["NAME", "ROLE", "ADDED"], &rows);
        }
        UserCommand::Remove { name } => {
            let (mut desk, session) = ctx.unlock()?;
            desk.remove_user(&session, &name)?;
            println!(
                "Removed {}; their passphrase no longer opens this desk.",
                name.trim()
            );
        }
        UserCommand::Passwd { name } => {
            let (mut desk, session) = ctx.unlock()?;
            let target = name.unwrap_or_else(|| session.user().name.clone());
            let passphrase = ctx
                .input
                .new_passphrase(&format!("New passphrase for {}: ", target.trim()))?;
            desk.set_passphrase(&session, &target, &passphrase, ctx.kdf()?)?;
            println!("The passphrase for {} is changed.", target.trim());
        }
    }
    Ok(())
}

/// `hirc recover`.
pub fn recover(ctx: &mut Ctx) -> Result<()> {
    let mut desk = ctx.open()?;
    let code = ctx.input.recovery_code()?;
    let who = ctx.user.clone();
    let label = who.as_deref().unwrap_or("the coordinator");
    let passphrase = ctx
        .input
        .new_passphrase(&format!("New passphrase for {label}: "))?;
    let fresh = desk.recover(who.as_deref(), &code, &passphrase, ctx.kdf()?)?;
    println!("The new passphrase is set.");
    println!();
    println!("The recovery code you used no longer works. The NEW recovery code (shown once):");
    println!();
    println!("    {}", fresh.reveal());
    println!();
    println!("Write it on paper and put it in the safe in place of the old one.");
    Ok(())
}
