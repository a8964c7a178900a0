//! The tag plan: which tags to put on which digests, in which order, so that
//! the image that held the tag before keeps the rollback tag.

use super::params::Digest;

/// One PutImage: put `tag` on the image `digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMove {
    /// The tag to put.
    pub tag: String,
    /// The image that gets it.
    pub digest: Digest,
}

/// What a promotion does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPlan {
    /// The PutImage calls, in order: the rollback tag first, so that the
    /// image that held the tag is never left without a name.
    pub moves: Vec<TagMove>,
    /// The digest that holds the tag afterwards.
    pub promoted: Digest,
    /// The digest that holds the rollback tag afterwards, if any.
    pub previous: Option<Digest>,
    /// Whether the tag was already on the promoted digest.
    pub unchanged: bool,
}

/// Plans moving `tag` onto `target`.
///
/// - `current`: the digest that holds `tag` now, if any;
/// - `current_previous`: the digest that holds `previous_tag` now, if any.
///
/// First promotion: only `tag` is put. Re-promotion of the digest that
/// already holds the tag: `tag` is put again (idempotent, ECR answers
/// "already exists") and the rollback tag stays where it is. Promotion over an
/// older digest: the older digest gets `previous_tag`, then `target` gets `tag`.
pub fn plan(
    target: &Digest,
    tag: &str,
    previous_tag: &str,
    current: Option<&Digest>,
    current_previous: Option<&Digest>,
) -> TagPlan {
    let promote = TagMove {
        tag: tag.to_owned(),
        digest: target.clone(),
    };
    match current {
        Some(holder) if holder != target => TagPlan {
            moves: vec![
                TagMove {
                    tag: previous_tag.to_owned(),
                    digest: holder.clone(),
                },
                promote,
            ],
            promoted: target.clone(),
            previous: Some(holder.clone()),
            unchanged: false,
        },
        Some(_) => TagPlan {
            moves: vec![promote],
            promoted: target.clone(),
            previous: current_previous.cloned(),
            unchanged: true,
        },
        None => TagPlan {
            moves: vec![promote],
            promoted: target.clone(),
            previous: current_previous.cloned(),
            unchanged: false,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    fn mv(tag: &str, digest: Digest) -> TagMove {
        TagMove {
            tag: tag.into(),
            digest,
        }
    }

    #[test]
    fn first_promotion_puts_only_the_tag() {
        let p = plan(&d('a'), "production", "production-previous", None, None);
        assert_eq!(p.moves, vec![mv("production", d('a'))]);
        assert_eq!(p.promoted, d('a'));
        assert_eq!(p.previous, None);
        assert!(!p.unchanged);
    }

    #[test]
    fn re_promotion_of_the_same_digest_keeps_the_rollback_tag_where_it_is() {
        let p = plan(
            &d('a'),
            "production",
            "production-previous",
            Some(&d('a')),
            Some(&d('b')),
        );
        assert_eq!(p.moves, vec![mv("production", d('a'))]);
        assert_eq!(p.previous, Some(d('b')));
        assert!(p.unchanged);
    }

    #[test]
    fn promotion_over_an_older_digest_moves_the_rollback_tag_first() {
        let p = plan(
            &d('b'),
            "production",
            "production-previous",
            Some(&d('a')),
            Some(&d('c')),
        );
        assert_eq!(
            p.moves,
            vec![mv("production-previous", d('a')), mv("production", d('b'))]
        );
        assert_eq!(p.promoted, d('b'));
        assert_eq!(p.previous, Some(d('a')));
        assert!(!p.unchanged);
    }

    #[test]
    fn a_rollback_is_a_promotion_of_the_previous_digest_and_swaps_the_two() {
        // production on b, production-previous on a: promote a over b.
        let p = plan(
            &d('a'),
            "production",
            "production-previous",
            Some(&d('b')),
            Some(&d('a')),
        );
        assert_eq!(
            p.moves,
            vec![mv("production-previous", d('b')), mv("production", d('a'))]
        );
        // Rolling back again swaps them once more.
        let again = plan(
            &d('b'),
            "production",
            "production-previous",
            Some(&d('a')),
            Some(&d('b')),
        );
        assert_eq!(
            again.moves,
            vec![mv("production-previous", d('a')), mv("production", d('b'))]
        );
    }

    #[test]
    fn a_missing_tag_with_an_existing_rollback_tag_reports_it() {
        let p = plan(
            &d('a'),
            "production",
            "production-previous",
            None,
            Some(&d('c')),
        );
        assert_eq!(p.moves, vec![mv("production", d('a'))]);
        assert_eq!(p.previous, Some(d('c')));
    }
}
