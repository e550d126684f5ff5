// The zones' manager (DESIGN.md §6; Knot's zone events, NSD's zone state).
// Each zone has a fixed set of events with one due time each, in one
// EventScheduler on the control io_context, so a zone's state has one
// writer; heavy work (builds, signing, disk writes) runs on worker threads
// and posts its result back to the zone's sequence; the serving side sees a
// zone's version through its slot (one pointer swap per new version).
//
//   load (file | state_dir) ─► worker: build ─► publish ─► refresh event ─► SOA query ─┐
//   NOTIFY (coalesced) ─► notify event ──────────────────────────────────────────────────┤
//        newer serial ─► IXFR (AXFR fallback, next primary) ─► worker: build ─► publish ─► flush: store
//        same serial ─► checked (expire restarts)   older, or failure ─► retry event
//   expire event: no check for SOA expire ─► SERVFAIL until one
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/control.hpp"
#include "daemon/events.hpp"
#include "daemon/transfer_slots.hpp"
#include "config/config.hpp"
#include "modes/lifecycle.hpp"
#include "modes/pipeline.hpp"
#include "serve/notify.hpp"
#include "serve/xfr_send.hpp"
#include "util/clock.hpp"
#include "util/published.hpp"
#include "xfr/driver.hpp"
#include "xfr/notify_out.hpp"
#include "xfr/refresh.hpp"
#include "zone/catalog.hpp"
#include "zone/update.hpp"
#include "zone/zone_state.hpp"

namespace satellite::daemon {

class ZoneManager final : public serve::NotifySink {
public:
    // Every catalog published takes its zones' query-counter slots in `stats`.
    // Every wait and timestamp reads `clock` (tests pass a ManualClock; by
    // default the system's).
    ZoneManager(boost::asio::io_context& control, Published<zone::Catalog>& catalog,
                std::shared_ptr<zone::ZoneStats> stats = nullptr, const Clock* clock = nullptr);
    ~ZoneManager() override;

    // Adds, removes and updates zones to match `cfg` and publishes the
    // result. Zones kept in state_dir are served from disk at once.
    void configure(const config::Config& cfg);

    // Any thread (a query worker): queues a refresh on the control thread.
    void notify(const dns::Name& zone, std::optional<std::uint32_t> serial,
                const std::string& from) override;

    // Asks for a refresh now (API/CLI `zone refresh`); `full`: by AXFR
    // whatever the serials say (`zone retransfer`).
    bool refresh_now(const std::string& zone_name, bool full = false);
    // `cb` once the zone has no work under way or queued (at once when idle
    // or unknown): an API change is answered once it is served.
    void when_idle(const std::string& zone_name, std::function<void()> cb);
    // The clock moved (a test's ManualClock): run what is now due.
    void clock_moved() { loop_.changed(); }
    // The settings a zone runs with, by its name as written (nullptr when it
    // is not configured): what config::reload reuses for unchanged blocks.
    const config::Zone* configured(const std::string& zone_name) const;
    // A zone's transfer state (nullopt for an unknown zone).
    std::optional<zone::ZoneState> zone_state(const std::string& zone_name) const;
    // Zones still being loaded by the last configure() (from files or state_dir).
    bool loading() const { return loads_in_flight_ > 0; }

    // The API's calls (api/control.hpp), made on the control thread.
    std::vector<api::ZoneInfo> api_zones() const;
    api::DnssecReply api_dnssec(const std::string& zone, api::DnssecOp op, const api::DnssecRequest& req);
    api::PeerKeysReply api_peer_keys(const std::string& zone, api::PeerKeyOp op, const api::PeerKeysRequest& req);
    std::string api_metrics() const;
    // The listeners are open: NOTIFY out may go (versions published before
    // are announced now).
    void serving_started() { notify_out_.release(); }
    // The outgoing transfers' counters, for /metrics.
    void set_xfr_out(std::shared_ptr<const serve::XfrOutLimits> x) { xfr_out_ = std::move(x); }
    // Freed pages go back to the system a moment from now (once for a run
    // of calls): not in the middle of a reload, whose new zones wait for
    // the control thread (malloc_trim walks the whole heap).
    void trim_soon();
    void shutdown();

private:
    struct Zone;
    struct RefreshRun;
    struct Consumer;
    std::shared_ptr<Zone> configure_zone(const config::Zone& zc);
    void drop_zone(Zone& z);
    // The catalogs we consume (daemon/consumed_catalog.cpp): their zones and
    // members added to `next`; a new version of one read into its member
    // list; the members' zones made to match; removed members' files
    // deleted after their grace period.
    void configure_consumers(const config::Config& cfg, std::map<std::string, std::shared_ptr<Zone>>& next);
    void catalog_changed(const std::string& catalog_key);
    void sync_members(std::map<std::string, std::shared_ptr<Zone>>& zones);
    void purge_removed_members();
    void save_consumer(Consumer& c);
    void fill_state(const Zone& z, api::ZoneInfo& i) const;
    void publish_catalog();
    void publish(Zone& z);
    void remember_history(Zone& z, const std::vector<zone::ZoneDelta>* deltas,
                          std::shared_ptr<const zone::IxfrHistory> signed_prior = nullptr);
    void remember_history(Zone& z, zone::ZoneDelta* signed_step, std::shared_ptr<const zone::IxfrHistory> prior);
    void store_signed_step(Zone& z, const std::shared_ptr<const zone::Snapshot>& previous);
    // provide_xfr entries (checked by config::load) with their keys.
    std::vector<zone::ServedZone::XfrAllow> xfr_allow(const std::vector<std::string>& entries);
    // The RFC 9432 catalog we produce (daemon/produced_catalog.cpp), added to `served`.
    void add_produced_catalog(std::vector<zone::ServedZone>& served);
    void load_local_file(Zone& z);
    void load_from_disk(Zone& z);
    void save_state(Zone& z);   // on the disk pool, coalesced per zone
    void write_state(Zone& z);
    void schedule_refresh(Zone& z, std::int64_t delay_s);
    // The zone's event `e` in `delay_s` seconds (`earlier`: unless already due sooner).
    void schedule(Zone& z, ZoneEvent e, std::int64_t delay_s, bool earlier = false);
    void on_event(ZoneId id, ZoneEvent e);
    void arm_expire(Zone& z);
    std::int64_t soa_deadline(const Zone& z) const;
    void take_primary_expire(Zone& z, const std::string& primary, std::int64_t previous_deadline);
    void expire(Zone& z);
    bool signatures_inside_margin(const Zone& z) const;
    std::int64_t next_check_delay(Zone& z);
    void start_refresh(const std::shared_ptr<Zone>& z, const char* why,
                       std::shared_ptr<const std::string> slot = nullptr);
    std::shared_ptr<Zone> still_wanted(const std::weak_ptr<Zone>& wz, std::uint64_t generation);
    void refresh_step(const std::shared_ptr<Zone>& z, xfr::RefreshStep step);
    void transfer(const std::shared_ptr<Zone>& z, std::size_t primary, xfr::TransferKind kind);
    void install_transfer(Zone& z, std::size_t primary, std::shared_ptr<xfr::TransferClient> client, bool backwards,
                          std::function<void(Status)> done);
    void store_transfer(Zone& z, const std::string& primary, std::shared_ptr<xfr::TransferClient> client,
                        bool incremental);
    void store_served(Zone& z);  // in the zone's sequence
    void write_served(Zone& z);
    void after_store(Zone& z, const Result<std::uint32_t>& stored);
    void in_sequence(Zone& z, std::function<void()> step);
    void run_pending(Zone& z);
    // `disk`: the work mostly waits for fsync (a stored copy): on the disk pool.
    template <typename T>
    void offload(Zone& z, std::function<Result<T>()> work, std::function<void(Zone&, Result<T>)> done,
                 bool disk = false);
    void finish_refresh(Zone& z);
    void install(Zone& z, std::shared_ptr<const zone::Snapshot> snap, const std::string& primary);
    Result<modes::BuildInput> build_input(Zone& z);
    // `ours`: the records were our own last version (a re-sign), not new data.
    void after_build(Zone& z, const modes::BuiltVersion& b, bool ours);
    void arm_resign(Zone& z);
    Status ensure_lifecycle(Zone& z);
    Status ensure_peer_keys(Zone& z);
    std::pair<std::vector<std::vector<std::uint8_t>>, int> own_keys(const Zone& z) const;
    void import_primary_keys(Zone& z, const dns::RecordList& records, const std::vector<zone::ZoneDelta>* deltas);
    void check_peers(Zone& z);
    void probe_providers(Zone& z);
    void say_algorithm_change(const Zone& z, const config::Zone& zc);
    void arm_parent_check(Zone& z);
    void check_parent(Zone& z);
    // What each parent server answered (for the status page).
    static void record_parent_servers(Zone& z, const std::vector<xfr::PrimaryAddress>& servers,
                                      const xfr::Answers& round);
    void parent_answered(Zone& z, const std::vector<std::vector<std::vector<std::uint8_t>>>& answers,
                         const std::vector<std::string>& problems);
    modes::LifecycleTiming timing(const Zone& z) const;
    void resign(Zone& z, const char* why);
    void dump(const Zone& z) const;

    boost::asio::io_context& io_;
    Published<zone::Catalog>& catalog_;
    std::shared_ptr<zone::ZoneStats> stats_;
    std::string state_dir_;
    std::map<std::string, std::shared_ptr<Zone>> zones_;  // by lower-cased name
    std::map<std::string, std::shared_ptr<const dns::TsigKey>> keys_;
    // Refreshes under way and waiting: kMaxConcurrentTransfers in all, at
    // most kMaxTransfersPerPrimary per (first) primary.
    TransferSlots<std::weak_ptr<Zone>> slots_;
    bool stopping_ = false;
    std::size_t loads_in_flight_ = 0;
    std::mt19937 rng_{std::random_device{}()};  // timer jitter
    // The zones' events (DESIGN.md §6): one scheduler, one timer for all.
    SystemClock system_clock_;
    const Clock& clock_;
    std::int64_t now_unix() const { return clock_.now_unix(); }
    EventScheduler events_;
    std::vector<std::weak_ptr<Zone>> by_id_;  // by ZoneId
    EventLoop loop_;
    // The produced catalog (server.catalog): its name ("" = none), who may
    // transfer it, its slot, the member list it was built from, its serial.
    std::string produced_catalog_;
    std::vector<std::string> produced_catalog_acl_;
    std::shared_ptr<zone::ZoneSlot> produced_catalog_slot_;
    std::string produced_catalog_members_;
    std::uint32_t produced_catalog_serial_ = 0;
    std::shared_ptr<const serve::XfrOutLimits> xfr_out_;
    // Consumed catalogs in config order, and who owns each member zone.
    std::vector<std::shared_ptr<Consumer>> consumers_;
    // [[catalog]] blocks removed by a reload, while their members' files
    // wait out member_grace (the block back meanwhile takes them up again).
    std::vector<std::shared_ptr<Consumer>> retired_consumers_;
    std::map<std::string, std::string> member_owner_;  // member key → catalog key
    boost::asio::steady_timer purge_timer_;
    // NOTIFY out to each zone's `notify` targets after a new served version.
    xfr::NotifySender notify_out_;
    // After new versions, the pages their builds freed go back to the
    // system (once for a run of versions, a moment after the last).
    boost::asio::steady_timer trim_timer_{io_};
    bool trim_armed_ = false;
    // Heavy work (signing, verification, snapshot builds, disk writes); last,
    // so it is joined before anything its jobs' results refer to is gone.
    boost::asio::thread_pool workers_;
    // Stored copies and state files: fsyncs of many zones at once share the
    // file system's journal commits, so this pool is wider than the CPU.
    boost::asio::thread_pool disk_;
};

}  // namespace satellite::daemon
