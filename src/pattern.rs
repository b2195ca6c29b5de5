//! Regular expressions of the suites, each compiled once per process.
//!
//! Suite validation, captures and checks compile the same patterns again and again (a header
//! check runs in many cases), and compiling a pattern costs far more than matching it. The cache
//! is bounded: past [`MAX_CACHED`] distinct patterns (expanded templates can make many), the rest
//! are compiled every time.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

/// Most distinct patterns kept.
pub const MAX_CACHED: usize = 4096;

type Compiled = Result<Regex, regex::Error>;

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// `pattern` compiled, or why it does not compile; the same answer as [`Regex::new`].
pub fn compile(pattern: &str) -> Compiled {
    if let Ok(cache) = CACHE.lock()
        && let Some(hit) = cache.get(pattern)
    {
        return hit.clone();
    }
    let compiled = Regex::new(pattern);
    if let Ok(mut cache) = CACHE.lock()
        && cache.len() < MAX_CACHED
    {
        cache.insert(pattern.to_owned(), compiled.clone());
    }
    compiled
}

/// Whether `pattern` is in the cache.
#[cfg(test)]
fn is_cached(pattern: &str) -> bool {
    CACHE.lock().is_ok_and(|c| c.contains_key(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_pattern_matches_as_a_fresh_one() {
        let pattern = "^pattern-test-[0-9]+$";
        assert!(!is_cached(pattern));
        let first = compile(pattern).unwrap();
        assert!(is_cached(pattern));
        let second = compile(pattern).unwrap();
        assert_eq!(second.as_str(), pattern);
        for text in ["pattern-test-12", "pattern-test-", "xpattern-test-1"] {
            assert_eq!(first.is_match(text), second.is_match(text), "{text}");
        }
        assert!(second.is_match("pattern-test-12"));
        assert!(!second.is_match("pattern-test-"));
    }

    #[test]
    fn an_invalid_pattern_gives_the_same_error_each_time() {
        let pattern = "pattern-test-(unclosed";
        let fresh = Regex::new(pattern).unwrap_err().to_string();
        assert_eq!(compile(pattern).unwrap_err().to_string(), fresh);
        assert_eq!(compile(pattern).unwrap_err().to_string(), fresh);
    }
}
