//! Where secrets and answers come from: the terminal (no echo for secrets),
//! or standard input line by line with `--passphrase-stdin`.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use hirc_core::vault::{Passphrase, RecoveryCode};
use zeroize::Zeroizing;

/// Reads passphrases, codes and answers for one command.
pub struct Input {
    from_stdin: bool,
    lines_read: usize,
}

impl Input {
    /// `from_stdin`: the `--passphrase-stdin` flag.
    pub fn new(from_stdin: bool) -> Self {
        Self {
            from_stdin,
            lines_read: 0,
        }
    }

    /// The acting user's passphrase.
    pub fn passphrase(&mut self, prompt: &str) -> Result<Passphrase> {
        Ok(Passphrase::new(self.secret(prompt)?.to_string()))
    }

    /// A new passphrase: asked twice on a terminal.
    pub fn new_passphrase(&mut self, prompt: &str) -> Result<Passphrase> {
        if self.from_stdin {
            return self.passphrase(prompt);
        }
        for _ in 0..3 {
            let first = self.secret(prompt)?;
            let second = self.secret("Type it again: ")?;
            if *first == *second {
                let p = Passphrase::new(first.to_string());
                p.check_new()?;
                return Ok(p);
            }
            eprintln!("The two passphrases were different; please try again.");
        }
        bail!("the passphrases did not match three times; nothing was changed")
    }

    /// The recovery code.
    pub fn recovery_code(&mut self) -> Result<RecoveryCode> {
        let typed = self.secret("Recovery code: ")?;
        Ok(RecoveryCode::parse(&typed)?)
    }

    fn secret(&mut self, prompt: &str) -> Result<Zeroizing<String>> {
        if self.from_stdin {
            return match self.read_line()? {
                Some(line) => Ok(line),
                None => bail!(
                    "expected a passphrase on line {} of standard input (--passphrase-stdin), but the input ended",
                    self.lines_read + 1
                ),
            };
        }
        if !std::io::stdin().is_terminal() && !has_tty() {
            bail!("there is no terminal to ask for the passphrase on; use --passphrase-stdin");
        }
        let text = rpassword::prompt_password(prompt).context("could not read the passphrase")?;
        Ok(Zeroizing::new(text))
    }

    /// An answer to a question (echoed). `None` at the end of input.
    pub fn answer(&mut self, prompt: &str) -> Result<Option<String>> {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        Ok(self.read_line()?.map(|l| l.trim().to_string()))
    }

    /// A yes/no question that guards something irreversible: asked only on a
    /// terminal, and anything but "y" or "yes" is no. Without a terminal the
    /// answer is no (scripts pass `--yes`).
    pub fn confirm(&mut self, question: &str) -> Result<bool> {
        if self.from_stdin || !std::io::stdin().is_terminal() {
            return Ok(false);
        }
        let answer = self.answer(question)?.unwrap_or_default().to_lowercase();
        Ok(answer == "y" || answer == "yes")
    }

    /// Everything left on standard input, at most `limit` bytes (one more
    /// is read to tell an over-long input from one exactly at the limit).
    pub fn rest(&mut self, limit: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut out)
            .context("could not read standard input")?;
        Ok(out)
    }

    fn read_line(&mut self) -> Result<Option<Zeroizing<String>>> {
        let mut line = Zeroizing::new(String::new());
        let n = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read standard input")?;
        if n == 0 {
            return Ok(None);
        }
        self.lines_read += 1;
        let trimmed = line.trim_end_matches(['\n', '\r']).to_string();
        Ok(Some(Zeroizing::new(trimmed)))
    }
}

/// Whether a controlling terminal exists (rpassword reads /dev/tty even when
/// standard input is redirected).
#[cfg(unix)]
fn has_tty() -> bool {
    std::fs::File::open("/dev/tty").is_ok()
}

/// Windows: rpassword uses the console directly.
#[cfg(not(unix))]
fn has_tty() -> bool {
    true
}
