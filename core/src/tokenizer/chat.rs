//! Chat templates without Jinja: the template family is recognised from the GGUF
//! `tokenizer.chat_template` source (as llama.cpp's `llm_chat_detect_template` does) and
//! rendered by hand.
//!
//! Implemented: ChatML, `<|im_start|>{role}\n{content}<|im_end|>\n` per message and
//! `<|im_start|>assistant\n` as the generation prompt. When the template source carries a
//! literal default system turn (`'<|im_start|>system\n...<|im_end|>'`, as SmolLM2's and
//! Qwen2.5's do), that turn is inserted before the first message unless the first message is a
//! `system` one. An empty conversation gets no default system turn.

use crate::{Error, Result};
use alloc::format;
use alloc::string::String;

/// A recognised chat-template family with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    /// The default system message the template inserts, if any.
    pub default_system: Option<String>,
    /// Whether the template renders `tool` messages specially (Qwen2.5's `<tool_response>`).
    tool_responses: bool,
}

const IM_START_SYSTEM: &str = "<|im_start|>system";
const IM_END: &str = "<|im_end|>";

/// Families llama.cpp knows that this crate does not render, by a marker in their source.
const OTHER_FAMILIES: [(&str, &str); 7] = [
    ("<|start_header_id|>", "llama3"),
    ("[INST]", "llama2/mistral"),
    ("<start_of_turn>", "gemma"),
    ("<|assistant|>", "zephyr/phi3"),
    ("<｜Assistant｜>", "deepseek"),
    ("<|START_OF_TURN_TOKEN|>", "command-r"),
    ("<|eot_id|>", "llama3"),
];

impl ChatTemplate {
    /// Recognise the family of a Jinja chat-template source.
    pub fn detect(src: &str) -> Result<ChatTemplate> {
        if src.contains("<|im_start|>") {
            return Ok(ChatTemplate {
                default_system: default_system(src),
                tool_responses: src.contains("<tool_response>"),
            });
        }
        match OTHER_FAMILIES
            .iter()
            .find(|(marker, _)| src.contains(marker))
        {
            Some((_, name)) => Err(Error::Unsupported(format!("chat template family '{name}'"))),
            None => {
                let head: String = src.chars().take(60).collect();
                Err(Error::Unsupported(format!(
                    "unrecognised chat template starting {head:?}"
                )))
            }
        }
    }

    /// Render `(role, content)` messages, then the assistant prompt if `add_generation_prompt`.
    pub fn apply(&self, messages: &[(&str, &str)], add_generation_prompt: bool) -> Result<String> {
        let mut out = String::new();
        let mut turn = |role: &str, content: &str| {
            out.push_str("<|im_start|>");
            out.push_str(role);
            out.push('\n');
            out.push_str(content);
            out.push_str(IM_END);
            out.push('\n');
        };
        if let (Some(sys), Some((role, _))) = (&self.default_system, messages.first()) {
            if *role != "system" {
                turn("system", sys);
            }
        }
        for &(role, content) in messages {
            if role == "tool" && self.tool_responses {
                return Err(Error::Unsupported(
                    "the 'tool' role of a tool-calling chat template".into(),
                ));
            }
            turn(role, content);
        }
        if add_generation_prompt {
            out.push_str("<|im_start|>assistant\n");
        }
        Ok(out)
    }
}

/// The text of the first literal `<|im_start|>system` + newline + text + `<|im_end|>` string in
/// the template source: the newline may be literal or the escape `\n`, and the text must be
/// free of quotes and braces (else it is an expression, not a literal).
fn default_system(src: &str) -> Option<String> {
    let mut rest = src;
    while let Some(k) = rest.find(IM_START_SYSTEM) {
        rest = &rest[k + IM_START_SYSTEM.len()..];
        let body = rest
            .strip_prefix('\n')
            .or_else(|| rest.strip_prefix("\\n"))?;
        if let Some(end) = body.find(IM_END) {
            let text = &body[..end];
            if !text.is_empty() && !text.contains(['\'', '"', '{', '}']) {
                return Some(text.replace("\\n", "\n"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOL: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn chatml_default_system() {
        let t = ChatTemplate::detect(SMOL).unwrap();
        let sys = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
        assert_eq!(t.default_system.as_deref(), Some(sys));
        assert_eq!(
            t.apply(&[("user", "hi")], true).unwrap(),
            format!("<|im_start|>system\n{sys}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
        );
        assert_eq!(
            t.apply(&[("system", "S"), ("user", "U"), ("assistant", "A")], false).unwrap(),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
        );
        assert_eq!(t.apply(&[], true).unwrap(), "<|im_start|>assistant\n");
    }

    #[test]
    fn escaped_newline_and_expressions() {
        let src = r"{{- '<|im_start|>system\n' + messages[0]['content'] }}{{- '<|im_start|>system\nBe brief.<|im_end|>\n' }}";
        let t = ChatTemplate::detect(src).unwrap();
        assert_eq!(t.default_system.as_deref(), Some("Be brief."));
        let plain = ChatTemplate::detect("{{'<|im_start|>' + m.role}}").unwrap();
        assert_eq!(plain.default_system, None);
    }

    #[test]
    fn unknown_families() {
        let e = ChatTemplate::detect("{{ '<|start_header_id|>' }}").unwrap_err();
        assert!(matches!(e, Error::Unsupported(m) if m.contains("llama3")));
        let e = ChatTemplate::detect("{{ bos }}{{ message }}").unwrap_err();
        assert!(matches!(e, Error::Unsupported(m) if m.contains("unrecognised")));
    }
}
