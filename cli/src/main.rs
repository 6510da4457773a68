//! The `llmcore` command.
mod schedule;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("schedule") => schedule::run(&args[1..], false),
        _ => Err("usage: llmcore schedule ...".to_string()),
    };
    if let Err(e) = result {
        eprintln!("llmcore: {e}");
        std::process::exit(2);
    }
}
