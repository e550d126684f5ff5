// Outgoing AXFR/IXFR: the decision (ACL, TSIG) and the message producer.
// Records are written straight from the snapshot's pre-encoded RDATA, owner
// names compressed within each message (RFC 1035 §4.1.4); RDATA is copied
// as stored (uncompressed, which every reader accepts).
#include "serve/xfr_out.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <spdlog/spdlog.h>

#include "dns/message.hpp"
#include "dns/serial.hpp"
#include "dns/types.hpp"

namespace satellite::serve {

using dns::load16;
using dns::load32;
namespace t = dns::type;

namespace {

constexpr std::size_t kHardLimit = 65535 - 1024;  // room for the TSIG record

// The client's serial from an IXFR request's authority SOA (RFC 1995 §3).
std::optional<std::uint32_t> ixfr_client_serial(std::span<const std::uint8_t> msg, const dns::Query& q) {
    if (load16(msg.data() + 8) == 0 || load16(msg.data() + 6) != 0) return std::nullopt;
    std::size_t pos = q.question_end;
    std::uint8_t name[dns::kMaxNameLen];
    std::size_t nlen = 0;
    pos = dns::read_name(msg, pos, name, &nlen);
    if (!pos || pos + 10 > msg.size() || load16(msg.data() + pos) != t::SOA) return std::nullopt;
    std::size_t rd = pos + 10, end = rd + load16(msg.data() + pos + 8);
    if (end > msg.size()) return std::nullopt;
    std::size_t p = dns::read_name(msg, rd, name, &nlen);  // MNAME
    if (p) p = dns::read_name(msg, p, name, &nlen);        // RNAME
    if (!p || p + 4 > end) return std::nullopt;
    return load32(msg.data() + p);
}

}  // namespace

bool is_transfer_request(std::span<const std::uint8_t> msg) {
    if (msg.size() < dns::kHeaderLen + 5) return false;
    if ((msg[2] & 0x80) || ((msg[2] >> 3) & 0xf) != dns::opcode::QUERY) return false;
    if (load16(msg.data() + 4) != 1) return false;
    std::size_t len = dns::wire_name::length(msg.data() + dns::kHeaderLen, msg.size() - dns::kHeaderLen);
    if (len == 0 || dns::kHeaderLen + len + 4 > msg.size()) return false;
    std::uint16_t qtype = load16(msg.data() + dns::kHeaderLen + len);
    if (qtype == t::AXFR || qtype == t::IXFR) return true;
    return qtype == t::SOA && load16(msg.data() + 10) != 0 && dns::tsig_find(msg) != 0;
}

std::size_t answer_signed_probe(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                                const dns::Address16& peer, std::int64_t now, std::span<std::uint8_t> out) {
    if (query.size() < dns::kHeaderLen || load16(query.data() + 10) == 0) return 0;  // no TSIG, surely
    if (!is_transfer_request(query)) return 0;
    std::size_t len = dns::wire_name::length(query.data() + dns::kHeaderLen, query.size() - dns::kHeaderLen);
    std::uint16_t qtype = load16(query.data() + dns::kHeaderLen + len);
    if (qtype == t::AXFR || dns::tsig_find(query) == 0) return 0;  // AXFR over UDP: answer() refuses it
    XfrOutStart s = start_xfr_out(catalog, query, peer, now, true);
    std::vector<std::uint8_t> msg;
    if (s.producer) {
        if (!s.producer->next(msg, now)) return 0;
    } else {
        msg = std::move(s.reply);
    }
    if (msg.size() > out.size()) return 0;
    std::memcpy(out.data(), msg.data(), msg.size());
    return msg.size();
}

XfrProducer::XfrProducer(std::shared_ptr<const zone::Snapshot> version, Kind kind,
                         std::span<const std::uint8_t> request, std::size_t question_end,
                         std::optional<dns::TsigStreamSigner> signer)
    : version_(std::move(version)), kind_(kind),
      header_question_(request.begin(), request.begin() + static_cast<std::ptrdiff_t>(question_end)),
      signer_(std::move(signer)) {}

XfrProducer::XfrProducer(std::shared_ptr<const zone::Snapshot> version, std::shared_ptr<const zone::IxfrHistory> history,
                         std::size_t first, std::span<const std::uint8_t> request, std::size_t question_end,
                         std::optional<dns::TsigStreamSigner> signer)
    : XfrProducer(std::move(version), Kind::Incremental, request, question_end, std::move(signer)) {
    history_ = std::move(history);
    delta_ = first;
}

bool XfrProducer::write_listed(dns::Writer& w, const dns::RecordList& list, const dns::RecordRef& r) {
    std::size_t mark = w.pos();
    auto rdata = list.rdata(r);
    if (!w.put_name(list.owner(r)) || !w.put16(r.type) || !w.put16(r.rclass) || !w.put32(r.ttl) ||
        !w.put16(static_cast<std::uint16_t>(rdata.size())) || !w.put(rdata.data(), rdata.size())) {
        w.rewind(mark);
        return false;
    }
    ++records_;
    return true;
}

// RFC 1995 §4: each difference is the old SOA, the records it removes, the
// new SOA, the records it adds.
bool XfrProducer::write_deltas(dns::Writer& w, unsigned& answers) {
    const auto& deltas = history_->deltas;
    while (w.pos() < kTargetSize) {
        if (delta_ >= deltas.size()) return true;
        const dns::RecordList& list = part_ == 0 ? deltas[delta_].removed : deltas[delta_].added;
        auto is_soa = [&](std::size_t i) { return list[i].type == t::SOA; };
        if (!part_soa_) {
            std::size_t soa = 0;
            while (soa < list.size() && !is_soa(soa)) ++soa;
            if (soa == list.size()) {  // cannot happen: a transfer's difference always has its SOAs
                failed_ = true;
                return false;
            }
            if (!write_listed(w, list, list[soa])) {
                if (answers == 0) failed_ = true;
                return false;
            }
            ++answers;
            part_soa_ = true;
            continue;
        }
        if (rec_ >= list.size()) {
            if (part_ == 0) {
                part_ = 1;
            } else {
                part_ = 0;
                ++delta_;
            }
            rec_ = 0;
            part_soa_ = false;
            continue;
        }
        if (is_soa(rec_)) {
            ++rec_;
            continue;
        }
        if (!write_listed(w, list, list[rec_])) {
            if (answers == 0) failed_ = true;
            return false;
        }
        ++answers;
        ++rec_;
    }
    return false;
}

bool XfrProducer::write_rr(dns::Writer& w, const zone::Node& n, const zone::Rrset& r, const std::uint8_t* rr) {
    const zone::Snapshot& s = *version_;
    std::uint16_t len = load16(rr);
    std::uint32_t ttl = r.ttl;
    if (r.type == t::RRSIG && len >= 2) {
        // RRSIGs are kept as one set per node; each goes out with the TTL
        // of the RRset it covers (RFC 4034 §3), as Snapshot::to_records does.
        if (const zone::Rrset* covered = s.find_rrset(n, load16(rr + 2))) ttl = covered->ttl;
    }
    std::size_t mark = w.pos();
    if (!w.put_name(s.node_name(n)) || !w.put16(r.type) || !w.put16(dns::rrclass::IN) || !w.put32(ttl) ||
        !w.put16(len) || !w.put(rr + 2, len)) {
        w.rewind(mark);
        return false;
    }
    ++records_;
    return true;
}

bool XfrProducer::next(std::vector<std::uint8_t>& out, std::int64_t now) {
    if (phase_ >= 3 || failed_) return false;
    const zone::Snapshot& s = *version_;
    out.resize(65535);
    dns::Writer w(out.data(), out.size());
    w.set_limit(kHardLimit);
    w.put(header_question_.data(), header_question_.size());
    // Header: our answer (QR AA, RD copied, RCODE 0), one question, no other sections yet.
    std::uint16_t flags = dns::flag::QR | dns::flag::AA | (load16(header_question_.data() + 2) & dns::flag::RD);
    dns::store16(out.data() + 2, flags);
    dns::store16(out.data() + 6, 0);
    dns::store16(out.data() + 8, 0);
    dns::store16(out.data() + 10, 0);
    w.remember_name(dns::kHeaderLen);
    unsigned answers = 0;
    const zone::Node& apex = s.node(s.apex());
    auto write_soa = [&] { return write_rr(w, apex, s.soa(), s.soa().rdata()); };

    if (phase_ == 0) {
        if (!write_soa()) {
            failed_ = true;
            return false;
        }
        ++answers;
        phase_ = kind_ == Kind::SoaOnly ? 3 : 1;
    }
    if (phase_ == 1 && kind_ == Kind::Incremental && write_deltas(w, answers)) phase_ = 2;
    while (phase_ == 1 && kind_ != Kind::Incremental && w.pos() < kTargetSize) {
        if (s.at_end(cursor_)) {
            phase_ = 2;
            break;
        }
        const std::uint32_t id = s.id_at(cursor_);
        const zone::Node& n = s.node(id);
        auto sets = s.rrsets_of(n);
        if (rrset_ >= sets.size()) {
            cursor_ = s.next(cursor_);
            rrset_ = rr_ = rr_offset_ = 0;
            continue;
        }
        const zone::Rrset& r = sets[rrset_];
        if (rr_ >= r.rr_count || (id == s.apex() && r.type == t::SOA)) {
            ++rrset_;
            rr_ = rr_offset_ = 0;
            continue;
        }
        const std::uint8_t* rr = r.rdata() + rr_offset_;
        if (!write_rr(w, n, r, rr)) {
            if (answers == 0) failed_ = true;  // a record larger than any message
            break;
        }
        ++answers;
        ++rr_;
        rr_offset_ += 2u + load16(rr);
    }
    if (failed_) return false;
    if (phase_ == 2 && w.pos() < kTargetSize) {
        if (write_soa()) {
            ++answers;
            phase_ = 3;
        }
    }
    out.resize(w.pos());
    dns::store16(out.data() + 6, static_cast<std::uint16_t>(answers));
    if (signer_) signer_->sign(out, now);
    ++messages_;
    return true;
}

std::vector<std::uint8_t> xfr_refusal(std::span<const std::uint8_t> request, std::uint16_t rcode) {
    std::vector<std::uint8_t> out(request.begin(), request.begin() + std::min<std::size_t>(request.size(), dns::kHeaderLen));
    out.resize(dns::kHeaderLen, 0);
    dns::Query q;
    std::size_t qend = 0;
    if (dns::parse_query(request, q) != dns::ParseStatus::Drop && q.question_end != 0) qend = q.question_end;
    if (qend) out.insert(out.end(), request.begin() + dns::kHeaderLen, request.begin() + static_cast<std::ptrdiff_t>(qend));
    std::uint16_t flags = dns::flag::QR | (load16(out.data() + 2) & (0x7800 | dns::flag::RD)) | (rcode & 0xf);
    dns::store16(out.data() + 2, flags);
    dns::store16(out.data() + 4, qend ? 1 : 0);
    dns::store16(out.data() + 6, 0);
    dns::store16(out.data() + 8, 0);
    dns::store16(out.data() + 10, 0);
    return out;
}

XfrOutStart start_xfr_out(const zone::Catalog& catalog, std::span<const std::uint8_t> request,
                          const dns::Address16& peer, std::int64_t now, bool soa_only) {
    XfrOutStart r;
    auto refuse = [&](std::uint16_t rcode, std::string why) {
        r.reply = xfr_refusal(request, rcode);
        r.refusal = std::move(why);
        return std::move(r);
    };
    dns::Query q;
    if (dns::parse_query(request, q) != dns::ParseStatus::Ok) return refuse(dns::rcode::FORMERR, "malformed request");
    r.ixfr = q.qtype == t::IXFR;
    r.zone = dns::wire_name::to_string(q.qname);
    const zone::ServedZone* zone = catalog.find(q.qname_lc, q.qname_len);
    // RFC 5936 §2.2.1: a transfer is of a zone we serve, named by its apex.
    if (!zone || zone->origin.size() != q.qname_len) return refuse(dns::rcode::NOTAUTH, "not a zone we serve");
    if (q.qclass != dns::rrclass::IN) return refuse(dns::rcode::REFUSED, "class is not IN");

    // provide_xfr: the entries whose prefix holds the peer.
    bool unsigned_ok = false;
    std::vector<const dns::TsigKey*> keys;
    for (const auto& e : zone->provide_xfr) {
        if (!e.prefix.matches(peer)) continue;
        if (e.key) {
            keys.push_back(e.key.get());
        } else {
            unsigned_ok = true;
        }
    }
    if (!unsigned_ok && keys.empty()) return refuse(dns::rcode::REFUSED, "address not in provide_xfr");
    if (unsigned_ok) {
        // A signed request from where unsigned ones are allowed: any key of
        // the zone's list (or its primary key) verifies it, and signs the reply.
        for (const auto& e : zone->provide_xfr) {
            if (e.key) keys.push_back(e.key.get());
        }
        if (zone->tsig) keys.push_back(zone->tsig.get());
    }
    std::optional<dns::TsigStreamSigner> signer;
    if (dns::tsig_find(request) != 0) {
        auto name = dns::tsig_key_name(request);
        if (!name) return refuse(dns::rcode::FORMERR, "malformed TSIG: " + name.error().message);
        const dns::TsigKey* key = nullptr;
        for (const auto* k : keys) {
            if (k->name.equals(*name)) key = k;
        }
        std::uint16_t error = 17;  // BADKEY: not a key this prefix may use
        std::string why = "TSIG key " + name->to_string() + " not allowed for this address (BADKEY)";
        if (key) {
            auto mac = dns::tsig_verify_request(request, *key, now);
            if (mac) {
                signer.emplace(*key, std::move(*mac));
            } else {
                const std::string& m = mac.error().message;
                error = m.find("BADTIME") != std::string::npos  ? 18
                        : m.find("BADKEY") != std::string::npos ? 17
                                                                : 16;
                why = "TSIG " + m;
            }
        }
        if (!signer) {
            // RFC 8945 §5.2: NOTAUTH with the TSIG error, unsigned.
            r.reply = xfr_refusal(request, dns::rcode::NOTAUTH);
            (void)dns::tsig_append_error(r.reply, request, error, now);
            r.refusal = std::move(why);
            return r;
        }
    } else if (!unsigned_ok) {
        return refuse(dns::rcode::REFUSED, "unsigned request where provide_xfr requires a TSIG key");
    }

    const auto* served = zone->served();
    if (!served) return refuse(dns::rcode::SERVFAIL, "zone has no version to serve");
    std::shared_ptr<const zone::Snapshot> version = *served;  // held for the whole transfer
    auto kind = XfrProducer::Kind::Full;
    if (soa_only || q.qtype == t::SOA) {
        kind = XfrProducer::Kind::SoaOnly;  // a probe, or IXFR over UDP (RFC 1995 §2)
    } else if (r.ixfr) {
        auto client = ixfr_client_serial(request, q);
        if (!client) return refuse(dns::rcode::FORMERR, "IXFR without the client's SOA");
        // RFC 1995 §2: a client as new as us gets our SOA alone.
        if (!dns::serial_older(*client, version->serial())) {
            kind = XfrProducer::Kind::SoaOnly;
        } else if (const auto* h = zone->slot ? zone->slot->history.load(std::memory_order_acquire) : nullptr) {
            // The differences that led to the served version, when they
            // reach back to the client's serial (a zone signed here has
            // none: its signed versions are not the primary's).
            std::shared_ptr<const zone::IxfrHistory> history = *h;
            const int first = history ? history->from(*client, version->serial()) : -1;
            if (first >= 0) {
                r.producer = std::make_unique<XfrProducer>(std::move(version), std::move(history),
                                                           static_cast<std::size_t>(first), request, q.question_end,
                                                           std::move(signer));
                return r;
            }
        }
        // Otherwise an AXFR-style reply (RFC 1995 §4).
    }
    r.producer = std::make_unique<XfrProducer>(std::move(version), kind, request, q.question_end, std::move(signer));
    return r;
}

}  // namespace satellite::serve
