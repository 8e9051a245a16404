//! The sound prompts a dialplan names literally, so the binary can read them before the first
//! call (the loop thread then does not touch the disk on a call's first Playback).
//!
//! The applications that play files are Playback and Background (argument 1), Read (argument
//! 2, the prompt), SayDigits, SayNumber, SayAlpha and SayPhonetic (the prompts their literal
//! argument says). SayUnixTime's prompts depend on the clock and are not listed. Text
//! before the first `$` of an argument list is what substitution leaves unchanged (only
//! `${...}` and `$[...]` are replaced), so only that part is read: `Playback(hello&${X})`
//! names `hello`, `Playback(${X})` names nothing.

use std::collections::BTreeSet;

use super::apps::{alpha_files, digit_files, files, number_files, phonetic_files, App};
use super::model::Dialplan;

impl Dialplan {
    /// Every prompt name the dialplan's applications give literally (`hello-world`,
    /// `digits/5`, `/abs/path`), sorted, each once.
    pub fn literal_sound_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for ctx in self.contexts.values() {
            for ext in &ctx.exts {
                for p in ext.prios.values() {
                    sound_names(&p.app, &p.args, &mut out);
                }
            }
        }
        out
    }
}

/// The literal prompts of one priority `app(args)` into `out`.
fn sound_names(app: &str, args: &str, out: &mut BTreeSet<String>) {
    let Some(app) = App::from_name(app) else {
        return;
    };
    let index = match app {
        App::Playback
        | App::Background
        | App::SayDigits
        | App::SayNumber
        | App::SayAlpha
        | App::SayPhonetic => 0,
        App::Read => 1,
        // The slot announcement (any digit) and the failure prompts.
        App::Park | App::ParkedCall => {
            out.extend((0..10).map(|d| format!("digits/{d}")));
            out.insert("pbx-parkingfailed".into());
            out.insert("pbx-invalidpark".into());
            return;
        }
        _ => return,
    };
    let (whole, partial) = literal_args(args);
    let names = match (whole.get(index), app) {
        (Some(a), App::SayDigits) => digit_files(a.trim()),
        (Some(a), App::SayAlpha) => alpha_files(a.trim()),
        (Some(a), App::SayPhonetic) => phonetic_files(a.trim()),
        (Some(a), App::SayNumber) => match a.trim().parse::<i64>() {
            Ok(n) => number_files(n),
            Err(_) => return,
        },
        (Some(a), _) => files(a),
        // The argument runs into a substitution: its files before the one that holds the `$`
        // are literal (`hello&${X}` → `hello`).
        (None, App::Playback | App::Background | App::Read) if index == whole.len() => {
            match partial.and_then(|p| p.rsplit_once('&')) {
                Some((before, _)) => files(before),
                None => return,
            }
        }
        _ => return,
    };
    out.extend(names);
}

/// Splits `args` at commas up to its first `$`: the arguments wholly before it, and the start
/// of the one it falls in (if any).
fn literal_args(args: &str) -> (Vec<&str>, Option<&str>) {
    let cut = args.find('$');
    let lit = &args[..cut.unwrap_or(args.len())];
    let mut whole: Vec<&str> = lit.split(',').collect();
    let partial = if cut.is_some() { whole.pop() } else { None };
    (whole, partial)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(app: &str, args: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        sound_names(app, args, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn literal_arguments_of_sound_applications() {
        assert_eq!(
            names("Playback", "hello-world&digits/5,noanswer"),
            ["digits/5", "hello-world"]
        );
        assert_eq!(
            names("background", "/abs/welcome.wav"),
            ["/abs/welcome.wav"]
        );
        assert_eq!(names("Read", "v,enter-number,4"), ["enter-number"]);
        assert_eq!(names("SayDigits", "12"), ["digits/1", "digits/2"]);
        assert_eq!(names("SayNumber", "20"), ["digits/20"]);
        assert_eq!(names("SayAlpha", "ab"), ["letters/a", "letters/b"]);
        assert_eq!(names("SayPhonetic", "z"), ["phonetic/z_p"]);
        assert!(names("Dial", "SIP/hello").is_empty());
        assert!(names("NoSuchApp", "hello").is_empty());
        let park = names("Park", "default");
        assert_eq!(park.len(), 12, "{park:?}");
        assert!(park.contains(&"pbx-parkingfailed".to_string()));
    }

    #[test]
    fn substitutions_hide_what_they_touch() {
        assert!(names("Playback", "${FILE}").is_empty());
        assert_eq!(names("Playback", "hello&${FILE}&bye"), ["hello"]);
        assert_eq!(names("Read", "v,prompt,${MAX}"), ["prompt"]);
        // A function call's commas come after the `$`: nothing after it is trusted.
        assert!(names("Read", "${CUT(a,b)},prompt").is_empty());
        assert!(names("SayNumber", "${N}").is_empty());
        assert!(names("SayDigits", "1${N}").is_empty());
    }

    #[test]
    fn a_dialplan_lists_its_prompts() {
        let cfg = crate::config::load_str(
            "[general]\n",
            "[default]\nexten => 1,1,Playback(hello-world)\n same => n,Background(${X}&menu)\n\
             exten => 2,1,Read(d,enter-ext)\n same => n,Playback(hello-world)\n",
            None,
        )
        .unwrap();
        let (dp, _) = Dialplan::from_sections(&cfg.extensions).unwrap();
        let got: Vec<String> = dp.literal_sound_names().into_iter().collect();
        assert_eq!(got, ["enter-ext", "hello-world"]);
    }
}
