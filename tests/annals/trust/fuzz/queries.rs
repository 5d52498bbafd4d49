//! Query arguments, random or mutated: parsed, or refused naming the argument.
use super::*;

#[test]
fn query_arguments_parse_or_name_the_argument() {
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let arg = option::of(text(known.clone()));
    let offset = prop_oneof![
        4 => Just(8 * 3600),
        1 => Just(0),
        1 => -86_399..=86_399i32,
        1 => any::<i32>(),
    ];
    let strategy = (arg.clone(), arg.clone(), arg, offset, text(known));
    let now = chrono::Utc::now();
    let ran = check(
        "queries",
        cases(512),
        strategy,
        |(period, on, known_at, offset, word)| {
            match Query::parse(
                period.as_deref(),
                on.as_deref(),
                known_at.as_deref(),
                now,
                offset,
            ) {
                Ok(q) => {
                    prop_assert!(q.period.from() <= q.period.to());
                    let _ = q.year_before();
                    count(&tally, "query ok");
                }
                Err(projections::Error::Argument { arg, reason }) => {
                    prop_assert!(
                        ["period", "on", "known_at", "offset"].contains(&arg),
                        "{arg}"
                    );
                    prop_assert!(!reason.is_empty());
                    count(&tally, format!("query refused: {arg}"));
                }
                Err(other) => {
                    return Err(TestCaseError::fail(format!(
                        "not an argument error: {other}"
                    )))
                }
            }
            for s in [period.as_deref(), Some(word.as_str())]
                .into_iter()
                .flatten()
            {
                match s.parse::<Period>() {
                    Ok(p) => {
                        prop_assert!(p.from() <= p.to());
                        let again: Period = p.to_string().parse().map_err(|e| {
                            TestCaseError::fail(format!("{p} does not parse back: {e}"))
                        })?;
                        prop_assert_eq!(again, p, "a period round-trips through its text");
                        for by in [Bucket::Month, Bucket::Quarter, Bucket::Half] {
                            let buckets = p.buckets(by);
                            prop_assert!(!buckets.is_empty());
                            prop_assert_eq!(buckets.first().unwrap().from(), p.from());
                            prop_assert_eq!(buckets.last().unwrap().to(), p.to());
                        }
                        let _ = (p.year_before(), p.label(Lang::Zh), p.label(Lang::En));
                        count(&tally, "period ok");
                    }
                    Err(e) => prop_assert!(e.to_string().starts_with("period:"), "{e}"),
                }
            }
            match word.parse::<Bucket>() {
                Ok(_) => prop_assert!(["month", "quarter", "half"].contains(&word.as_str())),
                Err(e) => prop_assert!(e.to_string().starts_with("by:"), "{e}"),
            }
            if let Err(e) = word.parse::<Lang>() {
                prop_assert!(e.to_string().starts_with("lang:"), "{e}");
            }
            if let Err(e) = projections::period::parse_moment(
                &word,
                chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
            ) {
                prop_assert!(e.to_string().starts_with("known_at:"), "{e}");
            }
            Ok(())
        },
    );
    print("queries", ran, &tally);
}
