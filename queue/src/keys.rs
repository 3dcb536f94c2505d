//! Signing keys for admission tokens and visitor credentials (README, "Admission tokens").
//!
//! Operators supply keys as `WAITROOM_SIGNING_KEYS`: comma-separated
//! `kid:seed` entries, each seed the base64url text of a 32-byte Ed25519
//! seed. The first key signs; every key verifies, so a rotation is: put the
//! new key in front, keep the old one until the tokens it signed expired,
//! then drop it. Without the variable the embedded default generates one
//! key on first start and keeps it in a 0600 file.
//!
//! Seeds never leave this module except through [`SigningKeys::to_spec`],
//! and `Debug` prints key ids only.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Encoding of every binary value we emit: JWTs and JWKS use it (RFC 7515).
pub(crate) const B64: GeneralPurpose = URL_SAFE_NO_PAD;

/// Accepts base64url with or without `=` padding, because operators paste
/// seeds and keys from tools that pad.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Domain label of the visitor-credential MAC key, so the MAC key is never
/// the signing seed itself and a future credential version gets a new key.
const MAC_LABEL: &[u8] = b"waitroom visitor credential v1";

/// Why a key specification, key file or JWKS document was refused. Messages
/// name the entry and the reason, never the seed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The specification holds no entry at all.
    #[error("no signing keys: expected comma-separated `kid:seed` entries")]
    Empty,
    /// One entry is not a valid `kid:seed`.
    #[error("signing key entry {index}: {reason}")]
    BadEntry {
        /// 1-based position of the entry in the comma-separated list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Two entries share a kid, so a token's `kid` would be ambiguous.
    #[error("signing key entry {index}: kid {kid:?} is already used by an earlier entry")]
    DuplicateKid {
        /// 1-based position of the second entry.
        index: usize,
        /// The repeated kid.
        kid: String,
    },
    /// A published key set cannot be used for verification.
    #[error("JWKS: {0}")]
    Jwks(String),
    /// The key file cannot be read or created.
    #[error("signing key file {}: {source}", path.display())]
    Io {
        /// The file we tried.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// Key ids travel in JWT headers, credentials and file names: keep them short
/// and free of separators other than `.`.
fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One key with everything derived from its seed computed once at load, so
/// signing and MACs do no per-call key setup beyond what the libraries need.
#[derive(Clone)]
struct KeyEntry {
    kid: String,
    signing: SigningKey,
    /// The same key as PKCS#8 DER, the form `jsonwebtoken` signs with.
    encoding: jsonwebtoken::EncodingKey,
    mac: [u8; 32],
}

impl KeyEntry {
    fn new(kid: String, seed: &[u8; 32]) -> Result<Self, String> {
        let signing = SigningKey::from_bytes(seed);
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode key {kid:?} as PKCS#8: {e}"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(seed)
            .map_err(|e| format!("cannot derive MAC key for {kid:?}: {e}"))?;
        mac.update(MAC_LABEL);
        Ok(Self {
            encoding: jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
            mac: mac.finalize().into_bytes().into(),
            signing,
            kid,
        })
    }
}

/// An ordered, non-empty set of Ed25519 keys: the first signs, all verify.
#[derive(Clone)]
pub struct SigningKeys {
    entries: Vec<KeyEntry>,
}

impl SigningKeys {
    /// Parses the `WAITROOM_SIGNING_KEYS` format: `kid:seed[,kid:seed…]`.
    /// Whitespace around entries is ignored (files end with a newline).
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        if spec.trim().is_empty() {
            return Err(KeyError::Empty);
        }
        let mut entries: Vec<KeyEntry> = Vec::new();
        for (i, raw) in spec.split(',').enumerate() {
            let index = i + 1;
            let bad = |reason: String| KeyError::BadEntry { index, reason };
            let raw = raw.trim();
            if raw.is_empty() {
                return Err(bad("is empty (stray comma?)".into()));
            }
            // An entry without ':' may be a bare seed: do not echo it.
            let (kid, seed) = raw
                .split_once(':')
                .ok_or_else(|| bad("expected `kid:seed`, found no ':'".into()))?;
            let (kid, seed) = (kid.trim(), seed.trim());
            if !valid_kid(kid) {
                return Err(bad(
                    "kid must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'".into(),
                ));
            }
            let bytes = B64_LENIENT
                .decode(seed)
                .map_err(|_| bad(format!("seed of kid {kid:?} is not base64url")))?;
            let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                bad(format!(
                    "seed of kid {kid:?} is {} bytes, an Ed25519 seed is 32",
                    bytes.len()
                ))
            })?;
            if entries.iter().any(|e| e.kid == kid) {
                return Err(KeyError::DuplicateKid {
                    index,
                    kid: kid.to_owned(),
                });
            }
            entries.push(KeyEntry::new(kid.to_owned(), &seed).map_err(bad)?);
        }
        Ok(Self { entries })
    }

    /// One fresh random key, for the embedded default and tests. Its kid is
    /// derived from the public key, so regenerating never reuses a kid.
    pub fn generate() -> Self {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let digest = Sha256::digest(signing.verifying_key().as_bytes());
        let kid = format!("k{}", &hex::encode(digest)[..8]);
        match KeyEntry::new(kid, &signing.to_bytes()) {
            Ok(entry) => Self {
                entries: vec![entry],
            },
            // Both derivations accept every 32-byte seed; if a library ever
            // disagrees, nothing can be signed and starting must stop.
            Err(reason) => panic!("cannot use a freshly generated key: {reason}"),
        }
    }

    /// Reads the key specification from `path`, or, when the file does not
    /// exist, generates a key and stores it there (mode 0600, created
    /// exclusively). Returns `true` when it created the file.
    ///
    /// Two processes starting together both end up with the key of the one
    /// that created the file first.
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), KeyError> {
        let io_err = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(spec) => return Ok((Self::parse(&spec)?, false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        let keys = Self::generate();
        match write_new_private(path, &keys.to_spec()) {
            Ok(()) => Ok((keys, true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let spec = std::fs::read_to_string(path).map_err(io_err)?;
                Ok((Self::parse(&spec)?, false))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// The specification that [`SigningKeys::parse`] reads back. It contains
    /// the seeds: write it only to a private file or secret store.
    pub fn to_spec(&self) -> String {
        self.entries
            .iter()
            .map(|e| format!("{}:{}", e.kid, B64.encode(e.signing.to_bytes())))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The kid of the key that signs new tokens and credentials.
    pub fn signing_kid(&self) -> &str {
        &self.first().kid
    }

    /// All kids in order, signing key first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.kid.as_str())
    }

    /// The public half of every key, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": B64.encode(e.signing.verifying_key().as_bytes()),
                    "kid": e.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// The verification keys, for an [`crate::admission::AdmissionVerifier`]
    /// in the same process.
    pub fn public_keys(&self) -> PublicKeySet {
        let keys = self
            .entries
            .iter()
            .map(|e| (e.kid.clone(), PublicKey::new(e.signing.verifying_key())))
            .collect();
        PublicKeySet { keys }
    }

    /// The HMAC key of the signing key, for new visitor credentials.
    pub fn mac_key(&self) -> &[u8; 32] {
        &self.first().mac
    }

    /// The HMAC key of any key by kid, to check credentials issued before a
    /// rotation.
    pub fn mac_key_for(&self, kid: &str) -> Option<&[u8; 32]> {
        self.entries.iter().find(|e| e.kid == kid).map(|e| &e.mac)
    }

    /// Every `(kid, MAC key)`, signing key first.
    pub(crate) fn mac_keys(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.entries.iter().map(|e| (e.kid.as_str(), &e.mac))
    }

    /// The signing key in the form `jsonwebtoken` wants, with its kid.
    pub(crate) fn encoding_key(&self) -> (&str, &jsonwebtoken::EncodingKey) {
        let first = self.first();
        (&first.kid, &first.encoding)
    }

    fn first(&self) -> &KeyEntry {
        // Every constructor refuses an empty set.
        &self.entries[0]
    }
}

impl std::str::FromStr for SigningKeys {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .field("seeds", &"[redacted]")
            .finish()
    }
}

/// Creates `path` exclusively with owner-only permissions and writes
/// `contents`; a half-written file is removed so the next start retries.
fn write_new_private(path: &Path, contents: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// One verification key, kept both parsed (for direct checks) and in the
/// form `jsonwebtoken` verifies with.
#[derive(Clone)]
struct PublicKey {
    verifying: VerifyingKey,
    decoding: jsonwebtoken::DecodingKey,
}

impl PublicKey {
    fn new(verifying: VerifyingKey) -> Self {
        Self {
            decoding: jsonwebtoken::DecodingKey::from_ed_der(verifying.as_bytes()),
            verifying,
        }
    }
}

/// Verification keys by kid. A separately deployed booking service builds it
/// from the published JWKS and never sees a seed.
#[derive(Clone)]
pub struct PublicKeySet {
    keys: HashMap<String, PublicKey>,
}

impl PublicKeySet {
    /// Builds the set from a JWKS document such as [`SigningKeys::jwks`].
    /// Keys that are not Ed25519 signature keys are skipped (a shared JWKS
    /// may hold others); malformed Ed25519 keys, weak (small-order) points,
    /// duplicate kids and a set without any usable key are refused.
    pub fn from_jwks(doc: &Value) -> Result<Self, KeyError> {
        let bad = |i: usize, why: &str| KeyError::Jwks(format!("key {}: {why}", i + 1));
        let list = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Jwks("expected an object with a \"keys\" array".into()))?;
        let mut keys = HashMap::new();
        for (i, jwk) in list.iter().enumerate() {
            let field = |name: &str| jwk.get(name).and_then(Value::as_str);
            let ed25519 = field("kty") == Some("OKP") && field("crv") == Some("Ed25519");
            if !ed25519 || field("use").is_some_and(|u| u != "sig") {
                continue;
            }
            if field("alg").is_some_and(|a| a != "EdDSA") {
                return Err(bad(i, "an Ed25519 key must have alg EdDSA"));
            }
            let kid = field("kid")
                .filter(|k| valid_kid(k))
                .ok_or_else(|| bad(i, "missing or invalid kid"))?;
            let x: [u8; 32] = field("x")
                .and_then(|x| B64_LENIENT.decode(x).ok())
                .and_then(|x| x.try_into().ok())
                .ok_or_else(|| bad(i, "x must be 32 bytes of base64url"))?;
            let verifying = VerifyingKey::from_bytes(&x)
                .ok()
                .filter(|k| !k.is_weak())
                .ok_or_else(|| bad(i, "x is not a usable Ed25519 public key"))?;
            if keys
                .insert(kid.to_owned(), PublicKey::new(verifying))
                .is_some()
            {
                return Err(bad(i, &format!("kid {kid:?} appears twice")));
            }
        }
        if keys.is_empty() {
            return Err(KeyError::Jwks("no Ed25519 signature keys".into()));
        }
        Ok(Self { keys })
    }

    /// The kids this set can verify, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The key for `kid`, for checks outside the JWT path.
    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid).map(|k| &k.verifying)
    }

    pub(crate) fn decoding_key(&self, kid: &str) -> Option<&jsonwebtoken::DecodingKey> {
        self.keys.get(kid).map(|k| &k.decoding)
    }
}

impl fmt::Debug for PublicKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.kids().collect();
        kids.sort_unstable();
        f.debug_struct("PublicKeySet").field("kids", &kids).finish()
    }
}
