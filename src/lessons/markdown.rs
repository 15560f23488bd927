//! The small Markdown subset lessons use, parsed into blocks the UI can lay out.
//!
//! Anything outside the subset degrades to plain paragraph text instead of failing.

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(u8, Vec<Span>),
    Paragraph(Vec<Span>),
    Bullets(Vec<Vec<Span>>),
    Numbered(Vec<Vec<Span>>),
    /// A fenced `formula` block: shown large and monospace.
    Formula(String),
    Code(String),
    /// First row is the header.
    Table(Vec<Vec<Vec<Span>>>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub code: bool,
}

/// Splits inline text into runs of plain, **bold**, *italic* and `code`.
pub fn inline(s: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let (mut bold, mut italic) = (false, false);
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let flush = |cur: &mut String, out: &mut Vec<Span>, bold: bool, italic: bool, code: bool| {
        if !cur.is_empty() {
            out.push(Span {
                text: std::mem::take(cur),
                bold,
                italic,
                code,
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            if let Some(len) = chars[i + 1..].iter().position(|&x| x == '`') {
                flush(&mut cur, &mut out, bold, italic, false);
                let code: String = chars[i + 1..i + 1 + len].iter().collect();
                out.push(Span {
                    text: code,
                    code: true,
                    ..Default::default()
                });
                i += len + 2;
                continue;
            }
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            flush(&mut cur, &mut out, bold, italic, false);
            bold = !bold;
            i += 2;
            continue;
        } else if c == '*' || (c == '_' && word_edge(&chars, i)) {
            flush(&mut cur, &mut out, bold, italic, false);
            italic = !italic;
            i += 1;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    flush(&mut cur, &mut out, bold, italic, false);
    out
}

/// An underscore only toggles italics at a word edge, so snake_case names stay intact.
fn word_edge(chars: &[char], i: usize) -> bool {
    let before = i
        .checked_sub(1)
        .map(|j| chars[j].is_alphanumeric())
        .unwrap_or(false);
    let after = chars
        .get(i + 1)
        .map(|c| c.is_alphanumeric())
        .unwrap_or(false);
    !(before && after)
}

fn numbered_item(line: &str) -> Option<&str> {
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    line[digits..]
        .strip_prefix(". ")
        .or_else(|| line[digits..].strip_prefix(") "))
}

fn table_row(line: &str) -> Vec<Vec<Span>> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| inline(c.trim()))
        .collect()
}

fn is_separator_row(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

pub fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let flush_para = |para: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(inline(&para.join(" "))));
            para.clear();
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if let Some(tag) = t.strip_prefix("```") {
            flush_para(&mut para, &mut blocks);
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i].trim());
                i += 1;
            }
            i += 1;
            let body = body.join("\n");
            blocks.push(if tag.trim() == "formula" {
                Block::Formula(body)
            } else {
                Block::Code(body)
            });
            continue;
        }
        if t.is_empty() {
            flush_para(&mut para, &mut blocks);
            i += 1;
            continue;
        }
        if t.starts_with('#') {
            flush_para(&mut para, &mut blocks);
            let level = t.chars().take_while(|c| *c == '#').count().min(6) as u8;
            blocks.push(Block::Heading(level, inline(t[level as usize..].trim())));
            i += 1;
            continue;
        }
        if t.starts_with('|') {
            flush_para(&mut para, &mut blocks);
            let mut rows = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                if !is_separator_row(lines[i]) {
                    rows.push(table_row(lines[i]));
                }
                i += 1;
            }
            blocks.push(Block::Table(rows));
            continue;
        }
        let bullet = |l: &str| {
            l.trim_start()
                .strip_prefix("- ")
                .or_else(|| l.trim_start().strip_prefix("* "))
                .map(str::to_string)
        };
        let numbered = |l: &str| numbered_item(l.trim_start()).map(str::to_string);
        let mut consumed = false;
        for (pick, is_bullet) in [
            (&bullet as &dyn Fn(&str) -> Option<String>, true),
            (&numbered, false),
        ] {
            if pick(line).is_some() {
                flush_para(&mut para, &mut blocks);
                let mut items: Vec<String> = Vec::new();
                while i < lines.len() {
                    let l = lines[i];
                    if let Some(item) = pick(l).filter(|_| !l.starts_with("  ")) {
                        items.push(item);
                    } else if !l.trim().is_empty()
                        && l.starts_with("  ")
                        && !l.trim_start().starts_with("```")
                    {
                        // An indented line continues the item above it.
                        if let Some(last) = items.last_mut() {
                            last.push(' ');
                            last.push_str(l.trim());
                        }
                    } else {
                        break;
                    }
                    i += 1;
                }
                let items = items.iter().map(|s| inline(s)).collect();
                blocks.push(if is_bullet {
                    Block::Bullets(items)
                } else {
                    Block::Numbered(items)
                });
                consumed = true;
                break;
            }
        }
        if consumed {
            continue;
        }
        para.push(t);
        i += 1;
    }
    flush_para(&mut para, &mut blocks);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_styles() {
        let s = inline("a **b** *c* `d_e` snake_case");
        assert_eq!(s.len(), 7);
        assert!(s[1].bold && s[3].italic && s[5].code);
        assert_eq!(s[6].text, " snake_case");
    }

    #[test]
    fn blocks() {
        let b = parse(
            "## H\n\npara\nmore\n\n- a\n- b\n  cont\n\n1. x\n2. y\n\n```formula\ny = x\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(matches!(&b[0], Block::Heading(2, _)));
        assert!(matches!(&b[1], Block::Paragraph(_)));
        assert!(matches!(&b[2], Block::Bullets(v) if v.len() == 2));
        assert!(matches!(&b[3], Block::Numbered(v) if v.len() == 2));
        assert_eq!(b[4], Block::Formula("y = x".into()));
        assert!(matches!(&b[5], Block::Table(r) if r.len() == 2));
    }
}
