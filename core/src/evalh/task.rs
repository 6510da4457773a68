//! Tasks as data: a JSON task description over a JSONL document file, so a user adds a task
//! without code. The fields follow lm-eval's task YAML:
//!
//! ```json
//! { "name": "kjv_book", "category": "knowledge", "docs": "kjv_book.jsonl",
//!   "output_type": "multiple_choice",
//!   "doc_to_text": "Verse: {{verse}}\nBook:", "doc_to_choice": "{{choices}}",
//!   "doc_to_target": "{{answer}}", "target_delimiter": " ", "fewshot_delimiter": "\n\n",
//!   "num_fewshot": 0, "fewshot_seed": 1234, "metrics": ["acc", "acc_norm"] }
//! ```
//!
//! Templates substitute `{{field}}` with the document's field (strings as they are, numbers
//! in their shortest form). `doc_to_choice` is a list of templates or a template that is
//! exactly one field holding a list of strings. `doc_to_target` renders to the target: for
//! multiple choice a template that is exactly one numeric field is the choice's index, any
//! other rendering must equal one of the choices. `output_type` is `multiple_choice`,
//! `generate_until` (with `until` and `max_tokens`) or `loglikelihood_rolling`.

use crate::io::json::{self, Json};
use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// What a task asks of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    MultipleChoice,
    GenerateUntil,
    LoglikelihoodRolling,
}

/// A metric a task reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Acc,
    AccNorm,
    AccBytes,
    ExactMatch,
    LcsF1,
    WordPerplexity,
    BytePerplexity,
    BitsPerByte,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::Acc,
        Metric::AccNorm,
        Metric::AccBytes,
        Metric::ExactMatch,
        Metric::LcsF1,
        Metric::WordPerplexity,
        Metric::BytePerplexity,
        Metric::BitsPerByte,
    ];

    /// The name used in task files and results (lm-eval's).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Acc => "acc",
            Metric::AccNorm => "acc_norm",
            Metric::AccBytes => "acc_bytes",
            Metric::ExactMatch => "exact_match",
            Metric::LcsF1 => "lcs_f1",
            Metric::WordPerplexity => "word_perplexity",
            Metric::BytePerplexity => "byte_perplexity",
            Metric::BitsPerByte => "bits_per_byte",
        }
    }

    /// The output type the metric scores.
    pub fn output_type(self) -> OutputType {
        match self {
            Metric::Acc | Metric::AccNorm | Metric::AccBytes => OutputType::MultipleChoice,
            Metric::ExactMatch | Metric::LcsF1 => OutputType::GenerateUntil,
            _ => OutputType::LoglikelihoodRolling,
        }
    }
}

/// A template: literal text with `{{field}}` holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

impl Template {
    /// Parses `{{field}}` holes (spaces inside the braces are ignored); an unclosed `{{` or an
    /// empty field name is an error.
    pub fn parse(src: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                Error::invalid(format!("template {src:?}: '{{{{' without '}}}}'"))
            })?;
            let name = after[..close].trim();
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "template {src:?}: empty field name"
                )));
            }
            parts.push(Part::Field(name.to_string()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The field of a template that is exactly one `{{field}}`.
    pub fn single_field(&self) -> Option<&str> {
        match &self.parts[..] {
            [Part::Field(f)] => Some(f),
            _ => None,
        }
    }

    /// The fields the template reads.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The template filled from `doc`; `what` names the template in errors.
    pub fn render(&self, doc: &Doc, what: &str) -> Result<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => out.push_str(&scalar_text(doc.field(f, what)?, doc, f, what)?),
            }
        }
        Ok(out)
    }
}

/// A string or number field as text.
fn scalar_text(v: &Json, doc: &Doc, field: &str, what: &str) -> Result<String> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(_) | Json::Bool(_) => Ok(v.to_string()),
        _ => Err(doc.error(format!(
            "field \"{field}\" used by {what} is not a string or number"
        ))),
    }
}

/// One document: a JSON object from line `line` (1-based) of the task's JSONL file.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub line: usize,
    pub fields: Json,
    source: String,
}

impl Doc {
    fn error(&self, message: String) -> Error {
        Error::invalid(format!("{} line {}: {message}", self.source, self.line))
    }

    fn field(&self, name: &str, what: &str) -> Result<&Json> {
        self.fields
            .get(name)
            .ok_or_else(|| self.error(format!("no field \"{name}\" (used by {what})")))
    }
}

/// Parses JSONL: one JSON object per non-blank line. `source` names the file in errors.
pub fn parse_docs(text: &str, source: &str) -> Result<Vec<Doc>> {
    let mut docs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = json::parse(line)
            .map_err(|e| Error::invalid(format!("{source} line {}: {e}", i + 1)))?;
        if fields.as_object().is_none() {
            return Err(Error::invalid(format!(
                "{source} line {}: not a JSON object",
                i + 1
            )));
        }
        docs.push(Doc {
            line: i + 1,
            fields,
            source: source.to_string(),
        });
    }
    Ok(docs)
}

/// Where the choices of a multiple-choice document come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choices {
    Templates(Vec<Template>),
    /// A field holding a list of strings.
    Field(String),
}

/// A task description (the JSON file), documents not included.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub name: String,
    /// Rows of the per-category table.
    pub category: String,
    /// The JSONL file of documents, relative to the task file.
    pub docs: String,
    /// Few-shot examples come from here (relative path) or, when absent, from `docs` without
    /// the document being asked.
    pub fewshot_docs: Option<String>,
    pub output_type: OutputType,
    pub doc_to_text: Template,
    pub doc_to_choice: Option<Choices>,
    pub doc_to_target: Template,
    pub target_delimiter: String,
    pub fewshot_delimiter: String,
    pub num_fewshot: usize,
    pub fewshot_seed: u64,
    pub until: Vec<String>,
    pub max_tokens: usize,
    pub metrics: Vec<Metric>,
}

fn str_member<'a>(j: &'a Json, key: &str, task: &str) -> Result<Option<&'a str>> {
    match j.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("task {task}: \"{key}\" must be a string"))),
    }
}

fn uint_member(j: &Json, key: &str, task: &str) -> Result<Option<u64>> {
    match j.get(key) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            Error::invalid(format!(
                "task {task}: \"{key}\" must be a non-negative integer"
            ))
        }),
    }
}

impl TaskSpec {
    /// Parses a task description; unknown keys are errors (a misspelt key would otherwise be
    /// silently ignored).
    pub fn parse(text: &str) -> Result<TaskSpec> {
        let j = json::parse(text)?;
        let members = j
            .as_object()
            .ok_or_else(|| Error::invalid("a task file must hold a JSON object"))?;
        let name = str_member(&j, "name", "?")?
            .ok_or_else(|| Error::invalid("task file: missing \"name\""))?
            .to_string();
        const KEYS: [&str; 15] = [
            "name",
            "category",
            "docs",
            "fewshot_docs",
            "output_type",
            "doc_to_text",
            "doc_to_choice",
            "doc_to_target",
            "target_delimiter",
            "fewshot_delimiter",
            "num_fewshot",
            "fewshot_seed",
            "until",
            "max_tokens",
            "metrics",
        ];
        if let Some((k, _)) = members.iter().find(|(k, _)| !KEYS.contains(&k.as_str())) {
            return Err(Error::invalid(format!("task {name}: unknown key \"{k}\"")));
        }
        let required = |key: &str| -> Result<&str> {
            str_member(&j, key, &name)?
                .ok_or_else(|| Error::invalid(format!("task {name}: missing \"{key}\"")))
        };
        let output_type = match required("output_type")? {
            "multiple_choice" => OutputType::MultipleChoice,
            "generate_until" => OutputType::GenerateUntil,
            "loglikelihood_rolling" => OutputType::LoglikelihoodRolling,
            other => {
                return Err(Error::invalid(format!(
                    "task {name}: output_type {other:?} is not multiple_choice, generate_until or loglikelihood_rolling"
                )))
            }
        };
        let doc_to_choice = match j.get("doc_to_choice") {
            None => None,
            Some(Json::String(s)) => {
                let t = Template::parse(s)?;
                let field = t.single_field().ok_or_else(|| {
                    Error::invalid(format!("task {name}: doc_to_choice as a string must be one {{{{field}}}} holding a list"))
                })?;
                Some(Choices::Field(field.to_string()))
            }
            Some(Json::Array(items)) => Some(Choices::Templates(
                items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or_else(|| {
                                Error::invalid(format!(
                                    "task {name}: doc_to_choice entries must be strings"
                                ))
                            })
                            .and_then(Template::parse)
                    })
                    .collect::<Result<_>>()?,
            )),
            Some(_) => {
                return Err(Error::invalid(format!(
                    "task {name}: doc_to_choice must be a string or a list"
                )))
            }
        };
        if (output_type == OutputType::MultipleChoice) != doc_to_choice.is_some() {
            return Err(Error::invalid(format!(
                "task {name}: doc_to_choice is needed by multiple_choice and only by it"
            )));
        }
        let until = match j.get("until") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|s| s.as_str().map(String::from))
                        .collect::<Option<Vec<_>>>()
                })
                .filter(|u| u.iter().all(|s| !s.is_empty()))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "task {name}: \"until\" must be a list of non-empty strings"
                    ))
                })?,
        };
        let metrics = match j.get("metrics") {
            None => return Err(Error::invalid(format!("task {name}: missing \"metrics\""))),
            Some(v) => v
                .as_array()
                .ok_or_else(|| Error::invalid(format!("task {name}: \"metrics\" must be a list")))?
                .iter()
                .map(|m| {
                    let s = m.as_str().unwrap_or("");
                    let metric = Metric::ALL
                        .iter()
                        .copied()
                        .find(|x| x.name() == s)
                        .ok_or_else(|| {
                            Error::invalid(format!("task {name}: unknown metric {m}"))
                        })?;
                    if metric.output_type() != output_type {
                        return Err(Error::invalid(format!(
                            "task {name}: metric {s} does not score {:?} output",
                            output_type
                        )));
                    }
                    Ok(metric)
                })
                .collect::<Result<Vec<_>>>()?,
        };
        if metrics.is_empty() {
            return Err(Error::invalid(format!("task {name}: \"metrics\" is empty")));
        }
        let doc_to_target = match output_type {
            OutputType::LoglikelihoodRolling => Template::parse("")?,
            _ => Template::parse(required("doc_to_target")?)?,
        };
        Ok(TaskSpec {
            category: str_member(&j, "category", &name)?
                .unwrap_or("uncategorized")
                .to_string(),
            docs: required("docs")?.to_string(),
            fewshot_docs: str_member(&j, "fewshot_docs", &name)?.map(String::from),
            output_type,
            doc_to_text: Template::parse(required("doc_to_text")?)?,
            doc_to_choice,
            doc_to_target,
            target_delimiter: str_member(&j, "target_delimiter", &name)?
                .unwrap_or(" ")
                .to_string(),
            fewshot_delimiter: str_member(&j, "fewshot_delimiter", &name)?
                .unwrap_or("\n\n")
                .to_string(),
            num_fewshot: uint_member(&j, "num_fewshot", &name)?.unwrap_or(0) as usize,
            fewshot_seed: uint_member(&j, "fewshot_seed", &name)?.unwrap_or(1234),
            until,
            max_tokens: uint_member(&j, "max_tokens", &name)?.unwrap_or(32) as usize,
            metrics,
            name,
        })
    }

    /// The choices of a multiple-choice document.
    pub fn choices(&self, doc: &Doc) -> Result<Vec<String>> {
        let out = match &self.doc_to_choice {
            None => {
                return Err(Error::invalid(format!(
                    "task {}: not a multiple-choice task",
                    self.name
                )))
            }
            Some(Choices::Templates(ts)) => ts
                .iter()
                .map(|t| t.render(doc, "doc_to_choice"))
                .collect::<Result<Vec<_>>>()?,
            Some(Choices::Field(f)) => doc
                .field(f, "doc_to_choice")?
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(String::from))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    doc.error(format!(
                        "field \"{f}\" used by doc_to_choice is not a list of strings"
                    ))
                })?,
        };
        if out.len() < 2 {
            return Err(doc.error(format!(
                "{} choice(s); multiple choice needs at least 2",
                out.len()
            )));
        }
        Ok(out)
    }

    /// The index of the gold choice among `choices`.
    pub fn gold_index(&self, doc: &Doc, choices: &[String]) -> Result<usize> {
        if let Some(f) = self.doc_to_target.single_field() {
            if let Json::Number(_) = doc.field(f, "doc_to_target")? {
                let i = doc
                    .field(f, "doc_to_target")?
                    .as_u64()
                    .filter(|&i| (i as usize) < choices.len());
                return i.map(|i| i as usize).ok_or_else(|| {
                    doc.error(format!(
                        "target index in \"{f}\" is not one of 0..{}",
                        choices.len()
                    ))
                });
            }
        }
        let t = self.doc_to_target.render(doc, "doc_to_target")?;
        choices.iter().position(|c| *c == t).ok_or_else(|| {
            doc.error(format!(
                "target {t:?} is not one of the choices {choices:?}"
            ))
        })
    }

    /// The target text: the gold choice for multiple choice, the rendered target otherwise.
    pub fn target_text(&self, doc: &Doc) -> Result<String> {
        match self.output_type {
            OutputType::MultipleChoice => {
                let c = self.choices(doc)?;
                let g = self.gold_index(doc, &c)?;
                Ok(c[g].clone())
            }
            _ => self.doc_to_target.render(doc, "doc_to_target"),
        }
    }
}

/// A task ready to run: its description and its documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub spec: TaskSpec,
    pub docs: Vec<Doc>,
    /// Few-shot pool when it is a separate file.
    pub fewshot_pool: Option<Vec<Doc>>,
}

impl Task {
    /// A task from its parts, with every document checked against the templates up front so a
    /// mismatch is reported (field and line) before any model work.
    pub fn new(spec: TaskSpec, docs: Vec<Doc>, fewshot_pool: Option<Vec<Doc>>) -> Result<Task> {
        if docs.is_empty() {
            return Err(Error::invalid(format!("task {}: no documents", spec.name)));
        }
        for d in docs.iter().chain(fewshot_pool.iter().flatten()) {
            spec.doc_to_text.render(d, "doc_to_text")?;
            spec.target_text(d)?;
        }
        Ok(Task {
            spec,
            docs,
            fewshot_pool,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{"name": "t", "docs": "t.jsonl", "output_type": "multiple_choice",
        "doc_to_text": "Q: {{ q }}\nA:", "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}",
        "metrics": ["acc", "acc_norm"]}"#;

    #[test]
    fn templates_fill_fields_and_name_what_is_missing() {
        let spec = TaskSpec::parse(SPEC).unwrap();
        let docs = parse_docs(
            "{\"q\": \"2+2\", \"choices\": [\"3\", \"4\"], \"answer\": 1}\n\n{\"q\": 7, \"choices\": [\"a\", \"b\"], \"answer\": \"b\"}\n{\"choices\": [\"a\", \"b\"], \"answer\": 0}\n",
            "t.jsonl",
        )
        .unwrap();
        assert_eq!(docs[1].line, 3, "blank lines keep the numbering");
        assert_eq!(
            spec.doc_to_text.render(&docs[0], "doc_to_text").unwrap(),
            "Q: 2+2\nA:"
        );
        assert_eq!(
            spec.doc_to_text.render(&docs[1], "doc_to_text").unwrap(),
            "Q: 7\nA:"
        );
        let c = spec.choices(&docs[0]).unwrap();
        assert_eq!(spec.gold_index(&docs[0], &c).unwrap(), 1);
        assert_eq!(spec.target_text(&docs[1]).unwrap(), "b");
        let e = Task::new(spec, docs, None).unwrap_err().to_string();
        assert!(e.contains("t.jsonl line 4") && e.contains("\"q\""), "{e}");
    }

    #[test]
    fn bad_task_files_say_what_is_wrong() {
        let bad = |from: &str, to: &str| {
            TaskSpec::parse(&SPEC.replace(from, to))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("\"metrics\"", "\"metric\"").contains("unknown key \"metric\""));
        assert!(bad("acc_norm", "accuracy").contains("unknown metric \"accuracy\""));
        assert!(bad("\"acc\",", "\"exact_match\",").contains("exact_match does not score"));
        assert!(bad("{{ q }}", "{{ q }").contains("without"));
        assert!(bad("multiple_choice", "mc").contains("output_type \"mc\""));
        let spec = TaskSpec::parse(SPEC).unwrap();
        let docs = parse_docs(
            "{\"q\": \"x\", \"choices\": [\"a\", \"b\"], \"answer\": 2}",
            "d",
        )
        .unwrap();
        let e = Task::new(spec.clone(), docs, None).unwrap_err().to_string();
        assert!(e.contains("d line 1") && e.contains("0..2"), "{e}");
        let docs = parse_docs(
            "{\"q\": \"x\", \"choices\": [\"a\", \"b\"], \"answer\": \"c\"}",
            "d",
        )
        .unwrap();
        assert!(Task::new(spec, docs, None)
            .unwrap_err()
            .to_string()
            .contains("\"c\" is not one of"));
        assert!(parse_docs("{\"a\": 1}\n[1]", "d")
            .unwrap_err()
            .to_string()
            .contains("d line 2"));
    }
}
