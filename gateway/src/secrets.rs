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

/// The operator key: configured, or generated once and printed once. In
/// production a weak key (see [`weak_key`]) is refused.
pub fn admin_token(settings: &Settings) -> anyhow::Result<String> {
    let (token, source) = stored_admin_token(settings)?;
    if settings.production() {
        if let Some(why) = weak_key(&token) {
            anyhow::bail!(
                "refusing to start with env = production: the operator key ({source}) is weak: \
                 {why}. Use at least 32 random bytes, e.g. `openssl rand -hex 32`"
            );
        }
    }
    Ok(token)
}

/// Where the operator key comes from, for the startup error.
fn stored_admin_token(settings: &Settings) -> anyhow::Result<(String, String)> {
    if let Some(t) = &settings.admin_token {
        return Ok((t.expose().to_owned(), "WAITROOM_ADMIN_TOKEN".to_owned()));
    }
    let path = settings.data_dir.join("admin-token");
    let source = path.display().to_string();
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok((existing.trim().to_owned(), source));
    }
    Ok((generate_admin_token(&path)?, source))
}

/// Bytes of randomness an operator key must carry in production.
pub const MIN_KEY_BYTES: usize = 32;

/// Why `key` is too weak to guard a production deployment, or `None`.
///
/// A key must encode at least [`MIN_KEY_BYTES`] bytes (hex, or base64 /
/// base64url, after an optional `wr_admin_` prefix), look random (no long
/// runs of one character, enough distinct characters for its length), and
/// contain no obvious words. This cannot prove randomness; it refuses the
/// keys people type (`change-me`, a password, a repeated pattern).
pub fn weak_key(key: &str) -> Option<String> {
    let body = key.trim();
    let body = body.strip_prefix("wr_admin_").unwrap_or(body);
    let lower = body.to_ascii_lowercase();
    // Words of six letters or more: a random key contains one by chance
    // with a probability below one in a million, so they refuse typed
    // keys, not generated ones.
    for word in [
        "change", "secret", "password", "passw0rd", "example", "default", "waitroom", "qwerty",
        "letmein", "replace",
    ] {
        if lower.contains(word) {
            return Some(format!("it contains the word \"{word}\""));
        }
    }
    let hex = body.len() % 2 == 0 && body.bytes().all(|b| b.is_ascii_hexdigit());
    let base64 = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='));
    let bytes = if hex {
        body.len() / 2
    } else if base64 {
        body.trim_end_matches('=').len() * 6 / 8
    } else {
        return Some("it is neither hex nor base64".to_owned());
    };
    if bytes < MIN_KEY_BYTES {
        return Some(format!(
            "it encodes {bytes} bytes, fewer than {MIN_KEY_BYTES}"
        ));
    }
    // Random hex of 64 characters shows about 16 distinct digits and
    // random base64 of 43 about 30; a pattern shows far fewer.
    let distinct = body.bytes().collect::<std::collections::HashSet<_>>().len();
    // Random base64 of 32 bytes mixes cases (all one case: under one in
    // a billion); typed phrases usually do not.
    let mixed_case = body.bytes().any(|b| b.is_ascii_uppercase())
        && body.bytes().any(|b| b.is_ascii_lowercase());
    if !hex && !mixed_case {
        return Some("it is base64 but not mixed case; it does not look random".to_owned());
    }
    let needed = if hex { 12 } else { 20 };
    if distinct < needed {
        return Some(format!(
            "it uses only {distinct} distinct characters; it does not look random"
        ));
    }
    let longest_run = body
        .as_bytes()
        .chunk_by(|a, b| a == b)
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    // Runs a random key shows with a chance under one in ten million.
    if longest_run > if hex { 8 } else { 5 } {
        return Some("it repeats one character; it does not look random".to_owned());
    }
    None
}

/// Generates a key of 32 random bytes at `path` and prints it once.
fn generate_admin_token(path: &std::path::Path) -> anyhow::Result<String> {
    let token = format!("wr_admin_{}", hex::encode(rand::random::<[u8; 32]>()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    // Printed once, on purpose: this is how a newcomer gets operator access.
    println!("operator API key (saved to {}): {token}", path.display());
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_short_keys_are_weak_random_ones_are_not() {
        for key in [
            "change-me",
            "test-admin-token",
            "hunter2hunter2hunter2hunter2hunter2hunter2",
            // 16 random bytes: the old generated form.
            "wr_admin_9f86d081884c7d659a2feaa0c55ad015",
            // 32 bytes, but a pattern.
            &"ab".repeat(32),
            &"0".repeat(64),
            // Long, but a sentence.
            "correct horse battery staple correct horse battery staple",
            "my-own-operator-key-for-the-production-site-2024",
            "Replace-Me-With-A-Real-Key-Before-Going-Live-2024",
            "Zm9vYmFyYmF6", // base64 of 9 bytes
        ] {
            assert!(weak_key(key).is_some(), "{key} should be weak");
        }
        for key in [
            "wr_admin_8d2c3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
            "3a1f9c0e7b5d2846af3c9e1b7d5a2c4e6f8091b3d5e7f9a1c3e5b7d9f1a3c5e7",
            // base64url of 32 random bytes (43 characters)
            "q5Vt2kXp9LrB7mYwZ3nHcF8dJ0gS4aUeT6iKoPxRvNl",
        ] {
            assert_eq!(weak_key(key), None, "{key} should pass");
        }
        // Random keys in the forms people generate them (our own,
        // `openssl rand -hex 32`, base64url of 32 bytes) always pass.
        use base64::Engine as _;
        for _ in 0..5_000 {
            let bytes = rand::random::<[u8; 32]>();
            for key in [
                format!("wr_admin_{}", hex::encode(bytes)),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ] {
                assert_eq!(weak_key(&key), None, "{key} is random");
            }
        }
    }

    #[test]
    fn production_refuses_a_weak_key_development_accepts_it() {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            admin_token: Some(crate::config::Secret::new("change-me")),
            env: crate::config::Environment::Production,
            ..Settings::default()
        };
        let err = admin_token(&settings).expect_err("weak key refused");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("WAITROOM_ADMIN_TOKEN") && msg.contains("production"),
            "{msg}"
        );
        settings.env = crate::config::Environment::Development;
        assert_eq!(admin_token(&settings).expect("dev accepts"), "change-me");
        // An unset key in production is generated strong, and accepted.
        settings.env = crate::config::Environment::Production;
        settings.admin_token = None;
        let generated = admin_token(&settings).expect("generated key");
        assert_eq!(weak_key(&generated), None);
    }
}
