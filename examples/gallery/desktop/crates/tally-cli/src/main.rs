//! `tally-cli [TEXT...]`: the summary of its arguments (or of a sample),
//! with the OS and architecture it was built for.

const SAMPLE: &str = "the quick brown fox jumps over the lazy dog and the cat";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = if args.is_empty() { SAMPLE.to_string() } else { args.join(" ") };
    println!(
        "tally-cli: {} [rust {}/{}]",
        tally::summary(&text),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
}
