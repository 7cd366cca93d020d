//! `hirc report new` without a file: the report's required questions, one
//! at a time, in the form's order. The draft is saved after every answer, so
//! an interrupted session (Ctrl-C, a closed terminal) loses nothing.

use anyhow::Result;
use chrono::{Duration, NaiveDate};
use hirc_core::model::*;
use hirc_core::{Desk, Session};
use serde_json::{Value, json};
use uuid::Uuid as Id;

use crate::input::Input;

struct Interview<'a> {
    input: &'a mut Input,
    desk: &'a mut Desk,
    session: &'a Session,
    id: Id,
}

/// Asks the questions and returns the draft's id.
pub fn new_report(input: &mut Input, desk: &mut Desk, session: &Session) -> Result<Id> {
    let id = desk.create_draft(session, &Report::default())?;
    eprintln!("New draft {id}. Answer each question; it is saved as you go.");
    eprintln!("In an emergency, call 999.\n");
    let mut iv = Interview {
        input,
        desk,
        session,
        id,
    };
    match iv.ask_all() {
        Ok(()) => Ok(id),
        Err(e) if e.is::<EndOfInput>() => {
            eprintln!("\nStopped early; everything answered so far is saved in draft {id}.");
            Ok(id)
        }
        Err(e) => Err(e),
    }
}

/// Standard input ended before the last question: not a failure, the
/// answers so far are saved.
#[derive(Debug)]
struct EndOfInput;

impl std::error::Error for EndOfInput {}

impl std::fmt::Display for EndOfInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the input ended")
    }
}

impl Interview<'_> {
    fn ask_all(&mut self) -> Result<()> {
        let role = self.one("Who is reporting?", ReporterRole::ALL, |v| v.label())?;
        self.save(json!({ "reporter_role": role }))?;

        let strands = self.several("Why do they think they were targeted?", Strand::ALL, |v| {
            v.label()
        })?;
        self.save(json!({ "strands": strands }))?;
        if strands.contains(&Strand::Other) {
            let text = self.text("Describe the other reason: ", true)?;
            self.save(json!({ "strand_other": text }))?;
        }

        let types = self.several("What happened?", IncidentType::ALL, |v| v.label())?;
        self.save(json!({ "incident_types": types }))?;
        if types.contains(&IncidentType::Other) {
            let text = self.text("Describe the other kind of incident: ", true)?;
            self.save(json!({ "incident_type_other": text }))?;
        }

        let description = self.text("In the person's own words, what happened?\n> ", true)?;
        self.save(json!({ "description": description }))?;

        let date = self.date()?;
        self.save(json!({ "occurred_on": date }))?;
        let approximate = self.yes_no("Is the date approximate?")?;
        self.save(json!({ "approximate": approximate }))?;

        let place = self.one("Where did it happen?", LocationType::ALL, |v| v.label())?;
        self.save(json!({ "location_type": place }))?;
        let area = self.text(
            "Area: postcode district or town, e.g. SS8 (Enter to skip): ",
            false,
        )?;
        if !area.is_empty() {
            self.save(json!({ "area": area }))?;
        }

        let anonymous = self.yes_no("Does the person want to stay anonymous?")?;
        self.save(json!({ "anonymous": anonymous }))?;
        if !anonymous {
            for (field, question) in [
                ("name", "Their name (Enter to skip): "),
                ("phone", "A safe phone number (Enter to skip): "),
                ("email", "A safe email address (Enter to skip): "),
            ] {
                let answer = self.text(question, false)?;
                if !answer.is_empty() {
                    self.save(json!({ "person": { field: answer } }))?;
                }
            }
        }

        let police = self.one("May the report go to the police?", PassToPolice::ALL, |v| {
            v.label()
        })?;
        self.save(json!({ "consent": { "pass_to_police": police } }))?;
        // Only a report passed on with the person's details lets the police
        // contact them; otherwise the answer is no, and asking would confuse.
        let contact =
            police == PassToPolice::Identified && self.yes_no("May the police contact them?")?;
        self.save(json!({ "consent": { "police_may_contact": contact } }))?;
        let support =
            self.yes_no("Do they want to be referred to support (e.g. Victim Support)?")?;
        self.save(json!({ "consent": { "refer_to_support": support } }))?;
        Ok(())
    }

    fn save(&mut self, patch: Value) -> Result<()> {
        self.desk.patch_draft(self.session, self.id, &patch)?;
        Ok(())
    }

    fn ask(&mut self, prompt: &str) -> Result<String> {
        self.input.answer(prompt)?.ok_or_else(|| EndOfInput.into())
    }

    fn text(&mut self, prompt: &str, required: bool) -> Result<String> {
        loop {
            let answer = self.ask(prompt)?;
            if !required || !answer.is_empty() {
                return Ok(answer);
            }
            eprintln!("This one is needed.");
        }
    }

    fn yes_no(&mut self, question: &str) -> Result<bool> {
        loop {
            match self
                .ask(&format!("{question} [y/n]: "))?
                .to_lowercase()
                .as_str()
            {
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("Please answer y or n."),
            }
        }
    }

    fn date(&mut self) -> Result<NaiveDate> {
        loop {
            let answer = self.ask("When did it happen? (YYYY-MM-DD, today or yesterday): ")?;
            let today = hirc_core::time::Clock::system().today();
            let date = match answer.to_lowercase().as_str() {
                "today" => Some(today),
                "yesterday" => Some(today - Duration::days(1)),
                text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
            };
            match date {
                Some(d) if d <= today => return Ok(d),
                Some(_) => eprintln!("That date is in the future."),
                None => eprintln!("Please write the date as YYYY-MM-DD, e.g. 2026-11-02."),
            }
        }
    }

    fn one<T: Copy>(
        &mut self,
        question: &str,
        all: &[T],
        label: impl Fn(T) -> &'static str,
    ) -> Result<T> {
        loop {
            let picked = self.pick(question, all, &label, false)?;
            if let [one] = picked.as_slice() {
                return Ok(*one);
            }
            eprintln!("Choose one number.");
        }
    }

    fn several<T: Copy + PartialEq>(
        &mut self,
        question: &str,
        all: &[T],
        label: impl Fn(T) -> &'static str,
    ) -> Result<Vec<T>> {
        self.pick(question, all, &label, true)
    }

    fn pick<T: Copy>(
        &mut self,
        question: &str,
        all: &[T],
        label: &impl Fn(T) -> &'static str,
        many: bool,
    ) -> Result<Vec<T>> {
        eprintln!("{question}");
        for (i, v) in all.iter().enumerate() {
            eprintln!("  {:>2}. {}", i + 1, label(*v));
        }
        let hint = if many {
            "Numbers, separated by commas: "
        } else {
            "Number: "
        };
        loop {
            let answer = self.ask(hint)?;
            let picked: Option<Vec<T>> = answer
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<usize>()
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .and_then(|i| all.get(i).copied())
                })
                .collect();
            match picked {
                Some(p) if !p.is_empty() => return Ok(p),
                _ => eprintln!("Please choose from the numbers shown."),
            }
        }
    }
}
