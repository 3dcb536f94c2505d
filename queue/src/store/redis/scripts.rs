//! The Lua scripts, loaded once and run with `EVALSHA`.
//!
//! Every state change is one script so it is atomic on the server. fred's
//! own `Script` helper needs its `sha-1` feature to hash locally; instead
//! the digest comes from `SCRIPT LOAD`, and a `NOSCRIPT` reply (a restarted
//! or failed-over server, or a Cluster node that never saw the load) falls
//! back to one `EVAL`, which also caches the script there again.

use super::codec::redis_error;
use crate::error::Result;
use fred::clients::Client;
use fred::interfaces::LuaInterface;
use fred::types::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// One script: its source (for the `EVAL` fallback) and server digest.
#[derive(Clone)]
pub(super) struct LuaScript {
    lua: &'static str,
    sha: String,
}

impl LuaScript {
    /// `SCRIPT LOAD`s `lua` and remembers the digest the server returns.
    async fn load(client: &Client, commands: &AtomicU64, lua: &'static str) -> Result<Self> {
        commands.fetch_add(1, Ordering::Relaxed);
        let sha: String = client.script_load(lua).await.map_err(redis_error)?;
        Ok(Self { lua, sha })
    }

    /// Runs the script; each command sent is counted in `commands`.
    pub(super) async fn run(
        &self,
        client: &Client,
        commands: &AtomicU64,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<Value> {
        self.run_with(client, commands, || (keys.clone(), args.clone()))
            .await
    }

    /// [`Self::run`] with keys and arguments made by `call`, once more only
    /// after a `NOSCRIPT`: nothing is copied for a retry that seldom comes
    /// (the join's way, where those copies were 2% of its instructions).
    pub(super) async fn run_with(
        &self,
        client: &Client,
        commands: &AtomicU64,
        call: impl Fn() -> (Vec<String>, Vec<String>),
    ) -> Result<Value> {
        commands.fetch_add(1, Ordering::Relaxed);
        let (keys, args) = call();
        match client
            .evalsha::<Value, _, _, _>(self.sha.as_str(), keys, args)
            .await
        {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                commands.fetch_add(1, Ordering::Relaxed);
                let (keys, args) = call();
                client.eval(self.lua, keys, args).await.map_err(redis_error)
            }
            other => other.map_err(redis_error),
        }
    }
}

/// Every script the store runs.
pub(super) struct Scripts {
    /// `join.lua`: issue or return a ticket.
    pub(super) join: LuaScript,
    /// `leave.lua`: explicit departure.
    pub(super) leave: LuaScript,
    /// `release.lua`: end a session early.
    pub(super) release: LuaScript,
    /// `lease.lua`: take or renew the admitter lease.
    pub(super) lease: LuaScript,
    /// `tick.lua`: the admission tick.
    pub(super) tick: LuaScript,
    /// `snapshot.lua`: a consistent read for position repair.
    pub(super) snapshot: LuaScript,
    /// `settings_cas.lua`: versioned settings write.
    pub(super) settings_cas: LuaScript,
    /// `open_prequeue.lua`: the shuffle at opening.
    pub(super) open_prequeue: LuaScript,
    /// `restore.lua`: repair after a loss.
    pub(super) restore: LuaScript,
    /// `claim.lua`: a lost place given back on a verified claim.
    pub(super) claim: LuaScript,
    /// `waitlist.lua`: sold out, seats returned or taken, and the read.
    pub(super) waitlist: LuaScript,
    /// `announce.lua`: set or clear an event's announcement.
    pub(super) announce: LuaScript,
    /// `contact.lua`: keep a visitor's contact.
    pub(super) contact: LuaScript,
}

impl Scripts {
    /// Loads every script (one `SCRIPT LOAD` each).
    pub(super) async fn load(client: &Client, commands: &AtomicU64) -> Result<Self> {
        Ok(Self {
            join: LuaScript::load(client, commands, include_str!("join.lua")).await?,
            leave: LuaScript::load(client, commands, include_str!("leave.lua")).await?,
            release: LuaScript::load(client, commands, include_str!("release.lua")).await?,
            lease: LuaScript::load(client, commands, include_str!("lease.lua")).await?,
            tick: LuaScript::load(client, commands, include_str!("tick.lua")).await?,
            snapshot: LuaScript::load(client, commands, include_str!("snapshot.lua")).await?,
            settings_cas: LuaScript::load(client, commands, include_str!("settings_cas.lua"))
                .await?,
            open_prequeue: LuaScript::load(client, commands, include_str!("open_prequeue.lua"))
                .await?,
            restore: LuaScript::load(client, commands, include_str!("restore.lua")).await?,
            claim: LuaScript::load(client, commands, include_str!("claim.lua")).await?,
            waitlist: LuaScript::load(client, commands, include_str!("waitlist.lua")).await?,
            announce: LuaScript::load(client, commands, include_str!("announce.lua")).await?,
            contact: LuaScript::load(client, commands, include_str!("contact.lua")).await?,
        })
    }
}
