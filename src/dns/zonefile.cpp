// Zone file reading through ldns; everything after this is our own structures.
#include "dns/zonefile.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "dns/ldns.hpp"

namespace satellite::dns {

namespace {

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

Status append_rr(const ldns_rr* rr, RecordList& out) {
    const ldns_rdf* owner = ldns_rr_owner(rr);
    LdnsBuffer buf(ldns_buffer_new(512));
    if (!buf) return make_error("out of memory");
    if (ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK) {
        return make_error("cannot encode record");
    }
    if (ldns_buffer_position(buf.get()) > 65535) return make_error("RDATA too long");
    out.add({ldns_rdf_data(owner), ldns_rdf_size(owner)}, static_cast<std::uint16_t>(ldns_rr_get_type(rr)),
            static_cast<std::uint16_t>(ldns_rr_get_class(rr)), ldns_rr_ttl(rr),
            {ldns_buffer_begin(buf.get()), ldns_buffer_position(buf.get())});
    return {};
}

LdnsRdf origin_rdf(const Name& origin) {
    return LdnsRdf(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, origin.size(), origin.data()));
}

}  // namespace

Result<RecordList> read_zone_file(const std::string& path, const Name& origin) {
    std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "r"));
    if (!f) return make_error(path + ": cannot open: " + std::strerror(errno));
    LdnsRdf orig = origin_rdf(origin);
    RecordList out;
    // Read record by record so that errors carry the line number and large
    // zones are not held twice in ldns structures.
    uint32_t default_ttl = 3600;
    ldns_rdf* cur_origin = ldns_rdf_clone(orig.get());
    ldns_rdf* prev = nullptr;
    int line = 0;
    Status result;
    for (;;) {
        ldns_rr* rr = nullptr;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, f.get(), &default_ttl, &cur_origin, &prev, &line);
        if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
            st == LDNS_STATUS_SYNTAX_ORIGIN || st == LDNS_STATUS_SYNTAX_INCLUDE) {
            if (std::feof(f.get())) break;
            continue;
        }
        if (st != LDNS_STATUS_OK) {
            if (std::feof(f.get()) && st == LDNS_STATUS_SYNTAX_ERR && rr == nullptr) {
                // ldns reports trailing blank lines at EOF this way.
                break;
            }
            result = make_error(path + ":" + std::to_string(line) + ": " + ldns_get_errorstr_by_id(st));
            break;
        }
        LdnsRr owned(rr);
        if (Status s = append_rr(rr, out); !s) {
            result = make_error(path + ":" + std::to_string(line) + ": " + s.error().message);
            break;
        }
    }
    ldns_rdf_deep_free(cur_origin);
    if (prev) ldns_rdf_deep_free(prev);
    if (!result) return result.error();
    return out;
}

Result<RecordList> parse_records(const std::string& text, const Name& origin) {
    LdnsRdf orig = origin_rdf(origin);
    RecordList out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        ldns_rr* rr = nullptr;
        ldns_rdf* prev = nullptr;
        ldns_status st = ldns_rr_new_frm_str(&rr, line.c_str(), 3600, orig.get(), &prev);
        if (prev) ldns_rdf_deep_free(prev);
        if (st != LDNS_STATUS_OK) {
            return make_error("'" + line + "': " + ldns_get_errorstr_by_id(st));
        }
        LdnsRr owned(rr);
        if (Status s = append_rr(rr, out); !s) return s.error();
    }
    return out;
}

Status write_zone_file(const std::string& path, const RecordList& records) {
    const std::string tmp = path + ".tmp";
    std::unique_ptr<FILE, FileCloser> f(std::fopen(tmp.c_str(), "w"));
    if (!f) return make_error(tmp + ": cannot create: " + std::strerror(errno));
    std::vector<std::uint8_t> wire;
    for (const auto& r : records.refs()) {
        // One record in wire form, then ldns's own reader and printer.
        wire.assign(records.owner(r), records.owner(r) + r.owner_len);
        const std::uint8_t fixed[10] = {
            static_cast<std::uint8_t>(r.type >> 8),  static_cast<std::uint8_t>(r.type),
            static_cast<std::uint8_t>(r.rclass >> 8), static_cast<std::uint8_t>(r.rclass),
            static_cast<std::uint8_t>(r.ttl >> 24),   static_cast<std::uint8_t>(r.ttl >> 16),
            static_cast<std::uint8_t>(r.ttl >> 8),    static_cast<std::uint8_t>(r.ttl),
            static_cast<std::uint8_t>(r.rdata_len >> 8), static_cast<std::uint8_t>(r.rdata_len)};
        wire.insert(wire.end(), fixed, fixed + 10);
        auto rd = records.rdata(r);
        wire.insert(wire.end(), rd.begin(), rd.end());
        ldns_rr* rr = nullptr;
        std::size_t pos = 0;
        if (ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
            return make_error("cannot print a record of type " + std::to_string(r.type));
        }
        ldns_rr_print(f.get(), rr);
        ldns_rr_free(rr);
    }
    if (std::fflush(f.get()) != 0 || std::ferror(f.get())) return make_error(tmp + ": write failed");
    f.reset();
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        return make_error(path + ": cannot rename: " + std::strerror(errno));
    }
    return {};
}

}  // namespace satellite::dns
