//! Markdown for text the tool did not write (names from a task-definition
//! file, AWS messages, service events), in the job summary and the
//! pull-request comment: it must render as the text it is — never as HTML,
//! an image, a link, a table cell break or a mention-bearing heading.

/// Inline code: nothing inside renders. One line; pipes escaped (a table
/// cell would end at `|` even inside code); the backtick fence is longer
/// than any run of backticks in the text.
pub fn code(s: &str) -> String {
    if s.is_empty() || s == "—" {
        return "—".into();
    }
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || fence.len() > 1 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Plain prose: one line, with HTML's `<>&` as entities and the characters
/// Markdown reads as markup (emphasis, code, links, headings, tables,
/// mentions) backslash-escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `(` and `!` need no escape: without `[` no link or image forms.
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '|' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block of `lines`: the fence is longer than any run of
/// backticks in them, so no line can close it.
pub fn fenced(info: &str, lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut md = format!("{fence}{info}\n");
    for line in lines {
        md.push_str(&line.replace('\r', " "));
        md.push('\n');
    }
    md.push_str(&fence);
    md.push('\n');
    md
}

/// A table: its header (`header`: the titles, `|`-separated as the line
/// reads, an empty title too), then one row per item of `rows`, then a
/// blank line. The cells must already be Markdown (see [`code`], [`text`]).
pub fn table(header: &str, rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let headers: Vec<&str> = header.split('|').map(str::trim).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cell = |c: &str| {
            if c.is_empty() {
                " |".to_string()
            } else {
                format!(" {c} |")
            }
        };
        let cells: String = cells.map(cell).collect();
        format!("|{cells}\n")
    };
    let mut md = line(&mut headers.iter().copied());
    md.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
    for row in rows {
        md.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    md.push('\n');
    md
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_has_its_header_a_rule_a_row_per_item_and_a_blank_line() {
        let rows = [vec!["`web`".to_string(), "1".to_string()]];
        let md = table(" | count", rows);
        assert_eq!(md, "| | count |\n|---|---|\n| `web` | 1 |\n\n");
    }

    const HOSTILE: &str = "<img src=https://attacker.example/p.png> [Approve deploy](https://attacker.example/) @octocat `x`|y\n# h";

    #[test]
    fn text_renders_nothing() {
        assert_eq!(
            text(HOSTILE),
            "&lt;img src=https://attacker.example/p.png&gt; \\[Approve deploy\\](https://attacker.example/) \\@octocat \\`x\\`\\|y \\# h"
        );
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("web"), "`web`");
        assert_eq!(code("a`b|c"), "`` a`b\\|c ``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(code(""), "—");
    }

    #[test]
    fn a_fence_no_log_line_can_close() {
        let lines = vec!["```".to_string(), "x ````` y".to_string()];
        let md = fenced("text", &lines);
        assert!(
            md.starts_with("``````text\n```\nx ````` y\n``````\n"),
            "{md}"
        );
    }
}
