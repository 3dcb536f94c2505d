//! Signing keys and the operator key: supplied, or generated on first
//! start and kept under the data directory (embedded default).

use crate::config::Settings;
use anyhow::Context;
use queue::keys::SigningKeys;
use std::io::Write;

/// The configured keys, or the ones generated under `data_dir`.
pub fn signing_keys(settings: &Settings) -> anyhow::Result<SigningKeys> {
    if let Some(spec) = &settings.signing_keys {
        return SigningKeys::parse(spec.expose()).context("WAITROOM_SIGNING_KEYS");
    }
    let path = settings.data_dir.join("signing-keys");
    let (keys, created) = SigningKeys::load_or_generate(&path)
        .with_context(|| format!("signing keys at {}", path.display()))?;
    if created {
        tracing::info!(path = %path.display(), "generated signing keys; processes sharing a Redis must share WAITROOM_SIGNING_KEYS instead");
    }
    Ok(keys)
}

/// The operator key: configured, or generated once and printed once.
pub fn admin_token(settings: &Settings) -> anyhow::Result<String> {
    if let Some(t) = &settings.admin_token {
        return Ok(t.expose().to_owned());
    }
    let path = settings.data_dir.join("admin-token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    let token = format!("wr_admin_{}", uuid::Uuid::new_v4().simple());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    // Printed once, on purpose: this is how a newcomer gets operator access.
    println!("operator API key (saved to {}): {token}", path.display());
    Ok(token)
}
