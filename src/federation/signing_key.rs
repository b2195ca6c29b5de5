//! The tester's own ed25519 server signing key, and the base64/ed25519 helpers shared by the
//! rest of the federation module.
//!
//! What it does:
//! * holds a key as a key ID (`ed25519:<version>`) plus an `ed25519_dalek` secret key;
//! * generates keys from the operating system's random source (`getrandom`);
//! * signs bytes and returns the signature as unpadded standard base64, as Matrix requires;
//! * reads and writes key files in exactly Synapse's format, one line
//!   `ed25519 <version> <unpadded base64 32-byte seed>`;
//! * verifies a raw ed25519 signature against a base64 public key ([`verify_signature`]).
//!
//! What it does not do: it does no network I/O, does not fetch or publish keys (building the
//! `/_matrix/key/v2/server` document is up to the caller, using
//! [`sign_json`](super::canonical_json::sign_json)), and supports no algorithm but ed25519.
//! File I/O happens only in [`SigningKey::load`], [`SigningKey::save`],
//! [`SigningKey::create_new`] and [`SigningKey::load_or_create`]; everything else is pure.
//! `Debug` never prints the secret.

use std::fmt;
use std::fs::{OpenOptions, Permissions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use ed25519_dalek::Signer as _;

/// The only signing algorithm Matrix defines.
pub const ED25519: &str = "ed25519";

/// Standard-alphabet base64 decoder that accepts both padded and unpadded input (the spec says
/// decoders SHOULD accept both) and, like Python's decoder used by Synapse, non-zero trailing bits.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes as unpadded standard base64 (the encoding Matrix uses for keys and signatures).
pub fn encode_b64(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Decodes standard base64, padded or unpadded.
pub fn decode_b64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    LENIENT_B64.decode(text)
}

/// Describes a base64 decoding failure in words, with the byte position where there is one.
pub fn describe_b64_error(err: &base64::DecodeError) -> String {
    match err {
        base64::DecodeError::InvalidByte(pos, byte) => {
            format!(
                "invalid character {:?} at position {pos}",
                char::from(*byte)
            )
        }
        base64::DecodeError::InvalidLength(len) => {
            format!("invalid length {len} (not a possible base64 length)")
        }
        base64::DecodeError::InvalidLastSymbol(pos, byte) => {
            format!(
                "invalid last symbol {:?} at position {pos}",
                char::from(*byte)
            )
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_owned(),
    }
}

/// Whether `version` is a valid key version: non-empty, only `[A-Za-z0-9_]`.
pub fn is_valid_key_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Errors creating a key in memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key version contains characters other than `[A-Za-z0-9_]`, or is empty.
    #[error("invalid key version {version:?}: must be non-empty and contain only [A-Za-z0-9_]")]
    InvalidVersion {
        /// The rejected version.
        version: String,
    },
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

/// Errors reading, parsing or writing a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file is empty or holds only whitespace.
    #[error("key file is empty")]
    Empty,
    /// A line does not have the three fields `<algorithm> <version> <seed>`.
    #[error(
        "line {line}: expected 3 space-separated fields `ed25519 <version> <base64 seed>`, found {found}"
    )]
    WrongFieldCount {
        /// 1-based line number.
        line: usize,
        /// How many fields the line has.
        found: usize,
    },
    /// The algorithm field is not `ed25519`.
    #[error("line {line}: unsupported key algorithm {found:?} (only \"ed25519\" is supported)")]
    WrongAlgorithm {
        /// 1-based line number.
        line: usize,
        /// The algorithm found.
        found: String,
    },
    /// The version field contains characters other than `[A-Za-z0-9_]`.
    #[error("line {line}: invalid key version {version:?}: only [A-Za-z0-9_] is allowed")]
    InvalidVersion {
        /// 1-based line number.
        line: usize,
        /// The rejected version.
        version: String,
    },
    /// The seed field is not valid base64.
    #[error("line {line}: seed is not valid base64: {detail}")]
    BadBase64 {
        /// 1-based line number.
        line: usize,
        /// Byte position in the seed field of the offending character, when there is one.
        position: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// The seed decodes to something other than 32 bytes.
    #[error("line {line}: seed decodes to {len} bytes, expected 32")]
    WrongSeedLength {
        /// 1-based line number.
        line: usize,
        /// Decoded length.
        len: usize,
    },
    /// Reading or writing the file failed.
    #[error("{action} key file {}: {source}", path.display())]
    Io {
        /// "cannot read" / "cannot write" etc.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// [`SigningKey::create_new`] or [`SigningKey::save`] without `force` found an existing file.
    #[error("refusing to overwrite existing key file {} (pass --force to replace it)", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// Generating a key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Errors checking an ed25519 signature against a base64-encoded public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureCheckError {
    /// The public key is not valid base64.
    #[error("public key is not valid base64: {0}")]
    PublicKeyBase64(String),
    /// The public key does not decode to 32 bytes.
    #[error("public key decodes to {0} bytes, expected 32")]
    PublicKeyLength(usize),
    /// The 32 bytes are not a valid ed25519 point.
    #[error("public key is not a valid ed25519 key")]
    InvalidPublicKey,
    /// The signature does not decode to 64 bytes.
    #[error("signature is {0} bytes long, expected 64")]
    SignatureLength(usize),
    /// The signature does not match the message and key.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a raw ed25519 `signature` over `message` with a public key given as base64 (padded or
/// not). Uses `verify_strict` (rejects small-order keys and malleable signatures, as libsodium
/// does).
pub fn verify_signature(
    public_key_b64: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureCheckError> {
    let pk = decode_b64(public_key_b64)
        .map_err(|e| SignatureCheckError::PublicKeyBase64(describe_b64_error(&e)))?;
    let pk: [u8; 32] = pk
        .as_slice()
        .try_into()
        .map_err(|_| SignatureCheckError::PublicKeyLength(pk.len()))?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk)
        .map_err(|_| SignatureCheckError::InvalidPublicKey)?;
    let sig: [u8; 64] = signature
        .try_into()
        .map_err(|_| SignatureCheckError::SignatureLength(signature.len()))?;
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    vk.verify_strict(message, &sig)
        .map_err(|_| SignatureCheckError::Mismatch)
}

/// A server signing key: key ID `ed25519:<version>` plus the ed25519 secret.
///
/// Build it with [`SigningKey::generate`], [`SigningKey::from_seed`] or
/// [`SigningKey::parse_key_file`] so that `key_id` is well formed.
#[derive(Clone)]
pub struct SigningKey {
    /// Key ID including the algorithm, e.g. `ed25519:a_AbCd`.
    pub key_id: String,
    /// The ed25519 secret key.
    pub secret: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

/// A random key version in Synapse's style: `a_` followed by 4 random letters/digits.
pub fn random_version() -> Result<String, KeyError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 is the largest multiple of 62 below 256; rejection sampling keeps it uniform.
    let mut out = String::from("a_");
    while out.len() < 6 {
        for b in random_bytes::<8>()? {
            if b < 248 && out.len() < 6 {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

impl SigningKey {
    /// A key with a fresh random seed and the given version (`[A-Za-z0-9_]+`).
    pub fn generate(version: &str) -> Result<SigningKey, KeyError> {
        let seed = random_bytes::<32>()?;
        SigningKey::from_seed(version, &seed)
    }

    /// A key from a known 32-byte seed (e.g. a test vector).
    pub fn from_seed(version: &str, seed: &[u8; 32]) -> Result<SigningKey, KeyError> {
        if !is_valid_key_version(version) {
            return Err(KeyError::InvalidVersion {
                version: version.to_owned(),
            });
        }
        Ok(SigningKey {
            key_id: format!("{ED25519}:{version}"),
            secret: ed25519_dalek::SigningKey::from_bytes(seed),
        })
    }

    /// The version part of the key ID (after `ed25519:`).
    pub fn version(&self) -> &str {
        self.key_id
            .split_once(':')
            .map_or(self.key_id.as_str(), |(_, v)| v)
    }

    /// The public key as unpadded standard base64 (as published in `verify_keys`).
    pub fn public_key_b64(&self) -> String {
        encode_b64(self.secret.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.secret.verifying_key()
    }

    /// Signs `bytes` and returns the signature as unpadded standard base64.
    pub fn sign(&self, bytes: &[u8]) -> String {
        encode_b64(&self.secret.sign(bytes).to_bytes())
    }

    /// The key file text: `ed25519 <version> <unpadded base64 seed>\n` (Synapse's format).
    pub fn to_key_file(&self) -> String {
        format!(
            "{ED25519} {} {}\n",
            self.version(),
            encode_b64(self.secret.as_bytes())
        )
    }

    /// Parses a Synapse signing key file.
    ///
    /// Fields are separated by whitespace (as Synapse's `split()` does); the seed may be padded
    /// or unpadded base64; blank lines and a trailing newline are ignored. Synapse allows several
    /// keys, one per line, and signs with the first: every line is checked and the first key is
    /// returned.
    pub fn parse_key_file(text: &str) -> Result<SigningKey, KeyFileError> {
        let mut first = None;
        for (idx, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let key = parse_key_line(idx + 1, raw)?;
            first.get_or_insert(key);
        }
        first.ok_or(KeyFileError::Empty)
    }

    /// Reads and parses a key file.
    pub fn load(path: &Path) -> Result<SigningKey, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
            action: "cannot read",
            path: path.to_owned(),
            source,
        })?;
        SigningKey::parse_key_file(&text)
    }

    /// Writes this key to `path` with mode 0600. Without `force`, an existing file is an error
    /// ([`KeyFileError::AlreadyExists`]) and is left untouched.
    pub fn save(&self, path: &Path, force: bool) -> Result<(), KeyFileError> {
        let io_err = |action, source| KeyFileError::Io {
            action,
            path: path.to_owned(),
            source,
        };
        let mut opts = OpenOptions::new();
        opts.write(true).mode(0o600);
        if force {
            opts.create(true).truncate(true);
        } else {
            opts.create_new(true);
        }
        let mut file = opts.open(path).map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                KeyFileError::AlreadyExists {
                    path: path.to_owned(),
                }
            } else {
                io_err("cannot create", e)
            }
        })?;
        // `mode` only applies when the file is created; tighten a pre-existing file too.
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(|e| io_err("cannot set permissions of", e))?;
        file.write_all(self.to_key_file().as_bytes())
            .map_err(|e| io_err("cannot write", e))?;
        file.sync_all().map_err(|e| io_err("cannot write", e))?;
        Ok(())
    }

    /// Generates a key with a random Synapse-style version (`a_XXXX`) and writes it to `path`
    /// (mode 0600). Refuses to overwrite an existing file unless `force`.
    pub fn create_new(path: &Path, force: bool) -> Result<SigningKey, KeyFileError> {
        let key = SigningKey::generate(&random_version()?)?;
        key.save(path, force)?;
        Ok(key)
    }

    /// Loads the key at `path`, or creates one there if the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SigningKey, KeyFileError> {
        match SigningKey::load(path) {
            Err(KeyFileError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                match SigningKey::create_new(path, false) {
                    // Someone else created it in between: use theirs.
                    Err(KeyFileError::AlreadyExists { .. }) => SigningKey::load(path),
                    other => other,
                }
            }
            other => other,
        }
    }
}

fn parse_key_line(line: usize, raw: &str) -> Result<SigningKey, KeyFileError> {
    let fields: Vec<&str> = raw.split_ascii_whitespace().collect();
    let [alg, version, seed_b64] = fields.as_slice() else {
        return Err(KeyFileError::WrongFieldCount {
            line,
            found: fields.len(),
        });
    };
    if *alg != ED25519 {
        return Err(KeyFileError::WrongAlgorithm {
            line,
            found: (*alg).to_owned(),
        });
    }
    if !is_valid_key_version(version) {
        return Err(KeyFileError::InvalidVersion {
            line,
            version: (*version).to_owned(),
        });
    }
    let seed = decode_b64(seed_b64).map_err(|e| KeyFileError::BadBase64 {
        line,
        position: match e {
            base64::DecodeError::InvalidByte(p, _)
            | base64::DecodeError::InvalidLastSymbol(p, _) => Some(p),
            _ => None,
        },
        detail: describe_b64_error(&e),
    })?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::WrongSeedLength {
            line,
            len: seed.len(),
        })?;
    SigningKey::from_seed(version, &seed).map_err(KeyFileError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's test-vector seed (appendices, "Signing JSON").
    pub(crate) const SPEC_SEED: &str = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
    pub(crate) const SPEC_PUBLIC: &str = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";

    fn spec_key() -> SigningKey {
        SigningKey::parse_key_file(&format!("ed25519 1 {SPEC_SEED}\n")).unwrap()
    }

    #[test]
    fn spec_seed_gives_spec_public_key() {
        let k = spec_key();
        assert_eq!(k.key_id, "ed25519:1");
        assert_eq!(k.version(), "1");
        assert_eq!(k.public_key_b64(), SPEC_PUBLIC);
    }

    #[test]
    fn spec_vector_empty_object() {
        assert_eq!(
            spec_key().sign(b"{}"),
            "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
        );
    }

    #[test]
    fn debug_redacts_secret() {
        let s = format!("{:?}", spec_key());
        assert_eq!(
            s,
            r#"SigningKey { key_id: "ed25519:1", secret: <redacted> }"#
        );
        assert!(!s.contains(SPEC_SEED));
        let pretty = format!("{:#?}", spec_key());
        assert!(pretty.contains("<redacted>"));
    }

    #[test]
    fn generate_and_versions() {
        let a = SigningKey::generate("a_1").unwrap();
        let b = SigningKey::generate("a_1").unwrap();
        assert_eq!(a.key_id, "ed25519:a_1");
        assert_ne!(a.public_key_b64(), b.public_key_b64());
        assert_eq!(
            SigningKey::generate("bad:v").unwrap_err(),
            KeyError::InvalidVersion {
                version: "bad:v".into()
            }
        );
        assert!(SigningKey::generate("").is_err());
        let v = random_version().unwrap();
        assert_eq!(v.len(), 6);
        assert!(v.starts_with("a_"));
        assert!(is_valid_key_version(&v));
    }

    #[test]
    fn sign_and_verify_roundtrip() {
        let k = SigningKey::generate("x").unwrap();
        let sig = decode_b64(&k.sign(b"hello")).unwrap();
        assert_eq!(sig.len(), 64);
        verify_signature(&k.public_key_b64(), b"hello", &sig).unwrap();
        assert_eq!(
            verify_signature(&k.public_key_b64(), b"hellO", &sig),
            Err(SignatureCheckError::Mismatch)
        );
        assert_eq!(
            verify_signature(&k.public_key_b64(), b"hello", &sig[..63]),
            Err(SignatureCheckError::SignatureLength(63))
        );
        assert_eq!(
            verify_signature("AAAA", b"hello", &sig),
            Err(SignatureCheckError::PublicKeyLength(3))
        );
        assert!(matches!(
            verify_signature("A*AA", b"hello", &sig),
            Err(SignatureCheckError::PublicKeyBase64(_))
        ));
    }

    #[test]
    fn base64_accepts_padded_and_unpadded() {
        assert_eq!(decode_b64("YQ").unwrap(), b"a");
        assert_eq!(decode_b64("YQ==").unwrap(), b"a");
        assert_eq!(encode_b64(b"a"), "YQ");
    }

    #[test]
    fn parse_variants() {
        // Padded seed, trailing newline, CRLF, extra whitespace between fields.
        let padded = format!("ed25519 1 {SPEC_SEED}=\r\n");
        assert_eq!(
            SigningKey::parse_key_file(&padded)
                .unwrap()
                .public_key_b64(),
            SPEC_PUBLIC
        );
        let spaced = format!("  ed25519\t1   {SPEC_SEED}  \n\n");
        assert_eq!(
            SigningKey::parse_key_file(&spaced)
                .unwrap()
                .public_key_b64(),
            SPEC_PUBLIC
        );
        // Several keys: first one wins, all are checked.
        let other = SigningKey::generate("b").unwrap();
        let two = format!("ed25519 1 {SPEC_SEED}\n{}", other.to_key_file());
        assert_eq!(
            SigningKey::parse_key_file(&two).unwrap().key_id,
            "ed25519:1"
        );
        let bad_second = format!("ed25519 1 {SPEC_SEED}\ned25519 2 short\n");
        assert!(matches!(
            SigningKey::parse_key_file(&bad_second),
            Err(KeyFileError::BadBase64 { line: 2, .. })
        ));
    }

    #[test]
    fn parse_errors() {
        let msg = |t: &str| SigningKey::parse_key_file(t).unwrap_err().to_string();
        assert!(matches!(
            SigningKey::parse_key_file(""),
            Err(KeyFileError::Empty)
        ));
        assert!(matches!(
            SigningKey::parse_key_file(" \n\n"),
            Err(KeyFileError::Empty)
        ));
        assert_eq!(msg(""), "key file is empty");
        assert_eq!(
            msg("ed448 1 AAAA"),
            "line 1: unsupported key algorithm \"ed448\" (only \"ed25519\" is supported)"
        );
        assert_eq!(
            msg("ed25519 1"),
            "line 1: expected 3 space-separated fields `ed25519 <version> <base64 seed>`, found 2"
        );
        assert_eq!(
            msg("\ned25519 a:b AAAA"),
            "line 2: invalid key version \"a:b\": only [A-Za-z0-9_] is allowed"
        );
        let e = SigningKey::parse_key_file("ed25519 1 YJDBA9Xn*2sVqXD9").unwrap_err();
        assert!(matches!(
            e,
            KeyFileError::BadBase64 {
                line: 1,
                position: Some(8),
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "line 1: seed is not valid base64: invalid character '*' at position 8"
        );
        assert_eq!(
            msg("ed25519 1 AAAA"),
            "line 1: seed decodes to 3 bytes, expected 32"
        );
        assert!(matches!(
            SigningKey::parse_key_file("ed25519 1 A"),
            Err(KeyFileError::BadBase64 { position: None, .. })
        ));
    }

    #[test]
    fn file_roundtrip_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");

        let created = SigningKey::create_new(&path, false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, created.to_key_file());
        assert!(text.starts_with("ed25519 a_"));
        assert!(text.ends_with('\n'));
        assert_eq!(text.trim_end().split(' ').nth(2).unwrap().len(), 43);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let loaded = SigningKey::load(&path).unwrap();
        assert_eq!(loaded.key_id, created.key_id);
        assert_eq!(loaded.public_key_b64(), created.public_key_b64());

        // No overwrite without force; file untouched.
        let err = SigningKey::create_new(&path, false).unwrap_err();
        assert!(matches!(err, KeyFileError::AlreadyExists { .. }));
        assert!(
            err.to_string()
                .starts_with("refusing to overwrite existing key file")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        // load_or_create loads the existing key.
        assert_eq!(
            SigningKey::load_or_create(&path).unwrap().public_key_b64(),
            created.public_key_b64()
        );

        // force replaces it and (re)sets mode 0600 even on a pre-existing looser file.
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let replaced = SigningKey::create_new(&path, true).unwrap();
        assert_ne!(replaced.public_key_b64(), created.public_key_b64());
        assert_eq!(
            SigningKey::load(&path).unwrap().public_key_b64(),
            replaced.public_key_b64()
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn load_or_create_creates_and_load_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.key");
        let k = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(
            SigningKey::load(&path).unwrap().public_key_b64(),
            k.public_key_b64()
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let missing = dir.path().join("missing.key");
        let err = SigningKey::load(&missing).unwrap_err();
        assert!(matches!(err, KeyFileError::Io { .. }));
        assert!(err.to_string().starts_with("cannot read key file "));

        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "ed25519 1 AAAA\n").unwrap();
        assert!(matches!(
            SigningKey::load_or_create(&bad),
            Err(KeyFileError::WrongSeedLength { line: 1, len: 3 })
        ));
    }
}
