/* SPDX-License-Identifier: MIT */
/*
 * The one order of library versions, compiled into both probec (which proves
 * a spec's layout ranges apart) and the runtime (which picks the layout whose
 * range holds a binary's version): if the two orders differed, a layout the
 * compiler accepted as separate could be chosen differently at run time.
 *
 * A version reads, left to right:
 *
 *   release      components joined by dots, "3.0.19", "10.11.6", "16.4".
 *                Each is a number, compared as a number ("3.10" > "3.9";
 *                zeros in front carry no value, "3.01" = "3.1"); a missing
 *                component is 0 ("3.0" = "3.0.0").
 *   letters      lowercase letters right after a component's digits count
 *                OpenSSL's patch releases: none < "a" < ... < "z" < "za" <
 *                "zb" < ... < "zz" < "zza". Like digits, a longer run is a
 *                later release, and runs of one length compare letter by
 *                letter ("1.0.2z" < "1.0.2ab", although OpenSSL never made
 *                an "ab": it counts past "z" by prefixing "z").
 *   pre-release  "-" and one of the words dev, alpha, beta, pre, rc (any
 *                case), then anything up to a "+": "3.0.0-alpha1",
 *                "3.2.0-dev"; PostgreSQL glues it on: "16beta1". A
 *                pre-release comes before its release, and pre-releases of
 *                one release order by word in that order (dev first: a dev
 *                tree precedes the alphas), then by what follows it, digit
 *                runs as numbers: "3.0.0-alpha2" < "3.0.0-alpha10" <
 *                "3.0.0-beta1" < "3.0.0-rc1" < "3.0.0".
 *   the rest     takes no part in the order: build metadata ("+quic", as
 *                semver's precedence rule 10 has it), and any other "-" tag,
 *                which names a product or a build rather than an earlier
 *                release: "10.11.6-MariaDB" = "10.11.6", "5.7.44-log" =
 *                "5.7.44", "1.1.1w-fips" = "1.1.1w". Text that is no version
 *                at all orders as "0".
 *
 * Products are not part of the order. A product is named by the banner that
 * matched (MariaDB "10.11.6-MariaDB" and MySQL "8.0.36" share numbers and
 * never meet; OpenSSL "3.0.13+quic" is product quic with version 3.0.13),
 * and versions are only compared between layouts of one product. So a
 * patched build is told apart by its product, never by its metadata.
 *
 * The order is total: any two strings compare, and equal-comparing strings
 * are interchangeable. A spec may still write only what it means
 * (version_order_spec_problem), so that two bounds that compare equal are
 * spelled alike.
 */
#ifndef PS_VERSION_ORDER_H
#define PS_VERSION_ORDER_H

/* <0, 0 or >0 as a comes before, equals or comes after b. */
int version_order_compare(const char *a, const char *b);

/*
 * Why version cannot bound a layout's range in a spec, or NULL when it can:
 * a release with OpenSSL-style letters on its last component ("1.1.1w",
 * "1.0.2za"), optionally a pre-release ("3.0.0-alpha1"). Build metadata and
 * product tags are refused: they take no part in the order, so a bound
 * holding them would not mean what it says.
 */
const char *version_order_spec_problem(const char *version);

#endif
