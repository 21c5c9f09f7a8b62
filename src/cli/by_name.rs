//! Engine enums as flag values, parsed through the engine's own names: `--help` lists the
//! spellings the run files use, a bad value gets the engine's `FromStr` message, and no clap
//! mirror of the enum has to be kept in step with it.

use std::ffi::OsStr;
use std::str::FromStr;

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};

/// A clap value parser for `T`: `--help` lists the names of `values`, and a value parses through
/// `T::from_str`, whose error clap shows after "invalid value 'x' for '--flag <FLAG>': ".
#[derive(Clone, Copy)]
pub struct ByName<T: 'static> {
    values: &'static [T],
    name: fn(T) -> &'static str,
}

/// [`ByName`] over every value of `T` (its `ALL`) and its `name`.
pub fn by_name<T>(values: &'static [T], name: fn(T) -> &'static str) -> ByName<T> {
    ByName { values, name }
}

impl<T> TypedValueParser for ByName<T>
where
    T: FromStr<Err = String> + Copy + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        StringValueParser::new()
            .try_map(|s| s.parse::<T>())
            .parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.values
                .iter()
                .map(|v| PossibleValue::new((self.name)(*v))),
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::prompt::{BInit, Method};

    #[derive(Parser, Debug)]
    struct Flags {
        #[arg(long, value_parser = by_name(&Method::ALL, Method::name), default_value = "vpt")]
        method: Method,
        #[arg(long, value_parser = by_name(&BInit::ALL, BInit::name))]
        b_init: Option<BInit>,
    }

    #[test]
    fn every_name_parses_to_its_value() {
        for m in Method::ALL {
            let flags = Flags::try_parse_from(["x", "--method", m.name()]).unwrap();
            assert_eq!(flags.method, m);
        }
        for b in BInit::ALL {
            let flags = Flags::try_parse_from(["x", "--b-init", b.name()]).unwrap();
            assert_eq!(flags.b_init, Some(b));
        }
        let flags = Flags::try_parse_from(["x"]).unwrap();
        assert_eq!((flags.method, flags.b_init), (Method::Vpt, None));
    }

    #[test]
    fn a_bad_value_gets_the_engine_message_and_help_lists_the_names() {
        let err = Flags::try_parse_from(["x", "--method", "VPT"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "invalid value 'VPT' for '--method <METHOD>': unknown method \"VPT\" (one of \
                 head, vpt, bpt-fwhiten, bpt-twhiten, bpt-bilinear)"
            ),
            "{err}"
        );
        let err = Flags::try_parse_from(["x", "--b-init", "zeros"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "invalid value 'zeros' for '--b-init <B_INIT>': unknown B init \"zeros\" \
                 (whiten or xavier)"
            ),
            "{err}"
        );
        let help = Flags::try_parse_from(["x", "--help"])
            .unwrap_err()
            .to_string();
        assert!(
            help.contains("[possible values: head, vpt, bpt-fwhiten, bpt-twhiten, bpt-bilinear]"),
            "{help}"
        );
        assert!(help.contains("[possible values: whiten, xavier]"), "{help}");
    }
}
