//! Python's `textwrap.wrap` with its default settings (break long words,
//! break on hyphens, drop whitespace), which oslo.policy's sample generator
//! wraps descriptions with.

/// Python's `textwrap._whitespace`: what `replace_whitespace` turns into
/// spaces and what separates words.
fn is_ws(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `[^\d\W]`: a word character that is not a digit.
fn is_letter(c: char) -> bool {
    is_word(c) && !c.is_numeric()
}

/// `[\w!"'&.,?]`.
fn is_word_punct(c: char) -> bool {
    is_word(c) || "!\"'&.,?".contains(c)
}

/// `textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent)`.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let chunks = split_chunks(&expand_tabs(text));
    wrap_chunks(chunks, width, indent)
}

/// `str.expandtabs()` (tab size 8) followed by `replace_whitespace`.
fn expand_tabs(text: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut col = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(' ');
                col = 0;
            }
            c if is_ws(c) => {
                out.push(' ');
                col += 1;
            }
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// `TextWrapper._split` with `wordsep_re` (break_on_hyphens).
fn split_chunks(s: &[char]) -> Vec<Vec<char>> {
    let at = |i: isize| -> Option<char> {
        if i < 0 {
            None
        } else {
            s.get(i as usize).copied()
        }
    };
    let letter = |i: isize| at(i).is_some_and(is_letter);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < s.len() {
        let end = if is_ws(s[start]) {
            let mut e = start;
            while e < s.len() && is_ws(s[e]) {
                e += 1;
            }
            e
        } else if let Some(e) = em_dash_at(s, start) {
            e
        } else {
            // `\S+?` then: a hyphen between letters, the end of the word,
            // or an em-dash ahead.
            let mut k = start + 1;
            loop {
                if k >= s.len() || is_ws(s[k]) {
                    break k;
                }
                let ki = k as isize;
                if s[k] == '-' {
                    let behind = (letter(ki - 2) && letter(ki - 1))
                        || (letter(ki - 3) && at(ki - 2) == Some('-') && letter(ki - 1));
                    let ahead = letter(ki + 1)
                        && (letter(ki + 2) || (at(ki + 2) == Some('-') && letter(ki + 3)));
                    if behind && ahead {
                        break k + 1;
                    }
                    if at(ki - 1).is_some_and(is_word_punct)
                        && at(ki + 1) == Some('-')
                        && hyphens_then_word(s, k)
                    {
                        break k;
                    }
                }
                k += 1;
            }
        };
        chunks.push(s[start..end].to_vec());
        start = end;
    }
    chunks
}

/// Whether `s[k..]` is two or more hyphens followed by a word character.
fn hyphens_then_word(s: &[char], k: usize) -> bool {
    let mut e = k;
    while e < s.len() && s[e] == '-' {
        e += 1;
    }
    e - k >= 2 && s.get(e).copied().is_some_and(is_word)
}

/// The em-dash chunk `(?<=wp)-{2,}(?=\w)` at `start`: its end.
fn em_dash_at(s: &[char], start: usize) -> Option<usize> {
    if start == 0 || !is_word_punct(s[start - 1]) || !hyphens_then_word(s, start) {
        return None;
    }
    let mut e = start;
    while s[e] == '-' {
        e += 1;
    }
    Some(e)
}

fn blank(chunk: &[char]) -> bool {
    chunk.iter().all(|c| c.is_whitespace())
}

/// `TextWrapper._wrap_chunks` with `_handle_long_word`.
fn wrap_chunks(mut chunks: Vec<Vec<char>>, width: usize, indent: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    chunks.reverse();
    let indent_len = indent.chars().count();
    while !chunks.is_empty() {
        let mut cur: Vec<Vec<char>> = Vec::new();
        let mut cur_len = 0;
        let room = width.saturating_sub(indent_len);
        if chunks.last().is_some_and(|c| blank(c)) && !lines.is_empty() {
            chunks.pop();
        }
        while let Some(c) = chunks.last() {
            if cur_len + c.len() <= room {
                cur_len += c.len();
                cur.extend(chunks.pop());
            } else {
                break;
            }
        }
        if chunks.last().is_some_and(|c| c.len() > room) {
            let space_left = if room < 1 { 1 } else { room - cur_len };
            if let Some(chunk) = chunks.last_mut() {
                let mut end = space_left;
                if chunk.len() > space_left {
                    let hyphen = chunk[..space_left.min(chunk.len())]
                        .iter()
                        .rposition(|c| *c == '-');
                    if let Some(h) = hyphen
                        && h > 0
                        && chunk[..h].iter().any(|c| *c != '-')
                    {
                        end = h + 1;
                    }
                }
                let end = end.min(chunk.len());
                cur.push(chunk[..end].to_vec());
                *chunk = chunk[end..].to_vec();
            }
        }
        if cur.last().is_some_and(|c| blank(c)) {
            cur.pop();
        }
        if !cur.is_empty() {
            let text: String = cur.iter().flatten().collect();
            lines.push(format!("{indent}{text}"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_python() {
        assert_eq!(wrap("", 70, "# "), Vec::<String>::new());
        assert_eq!(wrap("a b", 70, "# "), ["# a b"]);
        // Hyphenated words break after the hyphen.
        assert_eq!(
            wrap(
                "since 21.0.0 in favor of \"os_compute_api:os-hypervisors:list\":\"rule:x\".",
                40,
                "# "
            ),
            [
                "# since 21.0.0 in favor of",
                "# \"os_compute_api:os-",
                "# hypervisors:list\":\"rule:x\"."
            ]
        );
        // A long word is cut at the width.
        assert_eq!(wrap("abcdefghij", 6, "# "), ["# abcd", "# efgh", "# ij"]);
        assert_eq!(wrap("x --long-option", 70, ""), ["x --long-option"]);
        assert_eq!(wrap("word--dash", 70, ""), ["word--dash"]);
    }
}
