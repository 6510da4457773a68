//! The `llmcore` command.
fn main() {
    eprintln!("llmcore: no subcommands yet");
    std::process::exit(2);
}
