//! Drafts and stored envelopes, random or mutated: accepted valid or refused by field,
//! and no mutation of a stored envelope verifies as something else.
use super::*;

#[derive(Debug, Clone)]
enum DraftInput {
    Mutated(Mutated),
    Random(Value),
    Bytes(Vec<u8>),
}

/// Whether a validated event really satisfies its kind: what `NewEvent` promises.
fn assert_valid(catalog: &Catalog, ev: &NewEvent) -> Result<(), TestCaseError> {
    let def = catalog
        .kind(ev.kind())
        .ok_or_else(|| TestCaseError::fail(format!("accepted an unknown kind {}", ev.kind())))?;
    prop_assert!(!def.system, "accepted a system kind {}", ev.kind());
    prop_assert!(ev.version() >= 1 && ev.version() <= def.version);
    let data = ev.data();
    let errors = def.validate_data(&def.current(ev.version(), &data));
    prop_assert!(errors.is_empty(), "accepted invalid data: {errors:?}");
    prop_assert!(ev.occurred().is_some() || def.correction.is_some());
    Ok(())
}

/// Parses a draft and validates it: the error, if any, must name fields.
fn parse_draft(catalog: &Catalog, bytes: &[u8]) -> Result<&'static str, TestCaseError> {
    let draft: Draft = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            return Ok("not a draft");
        }
    };
    match NewEvent::parse(catalog, draft) {
        Ok(ev) => {
            assert_valid(catalog, &ev)?;
            Ok("accepted")
        }
        Err(events::Error::Invalid(list)) => {
            prop_assert!(!list.is_empty(), "a refusal lists its fields");
            for f in &list {
                prop_assert!(
                    !f.field.is_empty() && !f.reason.to_string().is_empty(),
                    "{f:?}"
                );
            }
            Ok("refused by field")
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "validation failed without naming a field: {other}"
        ))),
    }
}

#[test]
fn drafts_random_or_mutated_are_accepted_valid_or_refused_by_field() {
    let lines = example_lines();
    let known = Arc::new(known_strings());
    let catalog = catalog();
    let tally = RefCell::new(BTreeMap::new());
    let strategy = prop_oneof![
        6 => mutated(known.clone(), 3, 2).prop_map(DraftInput::Mutated),
        2 => json_value(known).prop_map(DraftInput::Random),
        1 => collection::vec(any::<u8>(), 0..300).prop_map(DraftInput::Bytes),
    ];
    let ran = check("drafts", cases(512), strategy, |input| {
        let bytes = match &input {
            DraftInput::Mutated(m) => m.bytes(&lines),
            DraftInput::Random(v) => serde_json::to_vec(v).unwrap(),
            DraftInput::Bytes(b) => b.clone(),
        };
        let outcome = parse_draft(&catalog, &bytes)?;
        count(&tally, outcome);
        // The same bytes as a stored envelope: refused or decoded, never a panic.
        let _ = serde_json::from_slice::<Envelope>(&bytes);
        Ok(())
    });
    print("drafts", ran, &tally);
}

#[derive(Debug, Clone)]
enum EnvelopeInput {
    Bytes(Index, Vec<ByteEdit>),
    Json(Index, Vec<Edit>),
}

#[test]
fn no_mutation_of_a_stored_envelope_still_verifies_as_something_else() {
    let lines = export_lines();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let strategy = prop_oneof![
        3 => (any::<Index>(), collection::vec(byte_edit(), 1..4))
            .prop_map(|(i, e)| EnvelopeInput::Bytes(i, e)),
        2 => (any::<Index>(), collection::vec(edit(known), 1..3))
            .prop_map(|(i, e)| EnvelopeInput::Json(i, e)),
    ];
    let ran = check("envelopes", cases(512), strategy, |input| {
        let (i, decoded) = match &input {
            EnvelopeInput::Bytes(i, edits) => {
                let mut b = i.get::<String>(&lines).as_bytes().to_vec();
                for e in edits {
                    apply_bytes(&mut b, e);
                }
                (i, serde_json::from_slice::<Envelope>(&b).ok())
            }
            EnvelopeInput::Json(i, edits) => {
                let mut v: Value = serde_json::from_str(i.get::<String>(&lines)).unwrap();
                for e in edits {
                    apply(&mut v, e);
                }
                (i, serde_json::from_value::<Envelope>(v).ok())
            }
        };
        let original: Envelope = serde_json::from_str(i.get::<String>(&lines)).unwrap();
        let Some(e) = decoded else {
            count(&tally, "no longer an envelope");
            return Ok(());
        };
        let mut chain = ChainCheck::after(original.seq - 1, original.prev_hash);
        if chain.check(&e).is_ok() {
            prop_assert_eq!(&e, &original, "a changed envelope still verifies");
            count(&tally, "unchanged in substance, verifies");
        } else {
            count(&tally, "decodes but fails the chain check");
        }
        Ok(())
    });
    print("envelopes", ran, &tally);
}
