//! The emails' text in every shipped language (en, fr, de, es, ja), one
//! table per language with the same keys. The language is the one the fan's
//! page was in when they checked out, registered or asked to be emailed;
//! anything else falls back to English, key by key. A test fails when a
//! shipped language lacks a key English has (or has one English lacks).

mod de;
mod en;
mod es;
mod fr;
mod ja;

/// A shipped language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English, the fallback.
    #[default]
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
    /// Japanese.
    Ja,
}

impl Lang {
    /// Every shipped language.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Fr, Lang::De, Lang::Es, Lang::Ja];

    /// The primary subtag as stored (`en`, `fr`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::De => "de",
            Self::Es => "es",
            Self::Ja => "ja",
        }
    }

    /// The shipped language of a tag (`fr`, `fr-CA`, `DE_at`); English for
    /// anything else.
    pub fn from_tag(tag: &str) -> Self {
        Self::known(tag).unwrap_or_default()
    }

    fn known(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first shipped language of an `Accept-Language` header, by
    /// weight (`q=0` excluded); English when none is shipped.
    pub fn from_accept_language(header: &str) -> Self {
        let mut ranked: Vec<(f32, usize, Self)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let lang = Self::known(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|r| r.2).unwrap_or_default()
    }

    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::En => en::MESSAGES,
            Self::Fr => fr::MESSAGES,
            Self::De => de::MESSAGES,
            Self::Es => es::MESSAGES,
            Self::Ja => ja::MESSAGES,
        }
    }

    /// The text of `key`, English when this language lacks it (the test
    /// below keeps that from shipping), the key itself when English does.
    pub fn text(self, key: &str) -> &'static str {
        let find = |l: Lang| l.table().iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        find(self).or_else(|| find(Lang::En)).unwrap_or("")
    }

    /// [`text`](Self::text) with each `{name}` replaced by its value.
    pub fn fill(self, key: &str, values: &[(&str, &str)]) -> String {
        let mut out = self.text(key).to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(l: Lang) -> BTreeSet<&'static str> {
        l.table().iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn every_shipped_language_has_every_key() {
        let english = keys(Lang::En);
        assert_eq!(
            english.len(),
            Lang::En.table().len(),
            "a key repeats in English"
        );
        for lang in Lang::ALL {
            let own = keys(lang);
            let missing: Vec<_> = english.difference(&own).collect();
            let extra: Vec<_> = own.difference(&english).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            assert!(
                extra.is_empty(),
                "{} has keys English lacks: {extra:?}",
                lang.code()
            );
            assert_eq!(
                own.len(),
                lang.table().len(),
                "a key repeats in {}",
                lang.code()
            );
            for (key, text) in lang.table() {
                assert!(!text.trim().is_empty(), "{}: {key} is empty", lang.code());
                // Every placeholder of the English text is filled in the
                // translation too, and no other.
                let names = |t: &str| {
                    t.split('{')
                        .skip(1)
                        .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
                        .collect::<BTreeSet<_>>()
                };
                assert_eq!(
                    names(text),
                    names(Lang::En.text(key)),
                    "{}: {key} has other placeholders than English",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn languages_come_from_tags_and_headers() {
        assert_eq!(Lang::from_tag("fr-CA"), Lang::Fr);
        assert_eq!(Lang::from_tag("JA"), Lang::Ja);
        assert_eq!(Lang::from_tag("pt-BR"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
        assert_eq!(
            Lang::from_accept_language("pt-BR, de;q=0.8, es;q=0.9"),
            Lang::Es
        );
        assert_eq!(Lang::from_accept_language("ja;q=0, fr;q=0.1"), Lang::Fr);
        assert_eq!(Lang::from_accept_language("xx, *;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("de;q=abc"), Lang::En);
        assert_eq!(
            Lang::Fr.fill("your_turn.subject", &[("event", "Gala")]),
            "C'est votre tour : Gala"
        );
    }
}
