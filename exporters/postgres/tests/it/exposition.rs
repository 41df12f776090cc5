//! A small reader of exposition text for assertions.

/// One sample: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Every sample line of `text` (OpenMetrics or Prometheus text).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("sample line has a name");
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let mut key = String::new();
        let mut end = 0;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = i + 1;
                    break;
                }
                ',' => {}
                '=' => {
                    chars.next(); // opening quote
                    let mut value = String::new();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(other) => value.push(other),
                                None => {}
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        rest = &after[end..];
    }
    let value_text = rest.split_whitespace().next().expect("sample value");
    let value = match value_text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    Sample {
        name,
        labels,
        value,
    }
}

/// The value of the first sample named `name` whose labels include `labels`.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .map(|s| s.value)
}

/// Like [`value`], panicking with the exposition when absent.
pub fn must(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or_else(|| panic!("no sample {name} {labels:?} in:\n{text}"))
}

/// The distinct values of label `label` on samples named `name`.
pub fn label_values(text: &str, name: &str, label: &str) -> Vec<String> {
    let mut out: Vec<String> = samples(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter_map(|s| {
            s.labels
                .into_iter()
                .find(|(k, _)| k == label)
                .map(|(_, v)| v)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
